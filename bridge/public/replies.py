"""A post's `replies` collection at its id (`OBJECT/replies`) and its pages (`?page=N`), as
Mastodon serves and reads them (the shape: bridge/as2/replies.py; what is listed:
bridge/publish/replies.py). An edge, beside bridge/public/routes.py.

The collection itself is exactly the post object's `replies` (its first page embedded, ids
only); a page fetched by its id embeds the blog's own answers whole, as Mastodon embeds
its local statuses. Negotiated like every AS2 document (a browser is sent to the post's
page); a post of a blog we do not serve, or no post, is 404; a gone post's collection is
gone too (410, a Tombstone, as the post's id answers).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.appkeys import CONFIG
from bridge.as2.posts import tombstone_to_as2
from bridge.as2.replies import page_of, replies_page_to_as2, replies_to_as2
from bridge.as2.vocab import AS2_CONTENT_TYPE, AS2_CONTEXT, OBJECT_CONTEXT
from bridge.config import Config
from bridge.core import urls
from bridge.models import BlogPost, PostState
from bridge.public.negotiation import (
    as2_response,
    error_response,
    json_response,
    negotiate,
)
from bridge.publish.documents import blog_language, post_object, replies_of
from bridge.publish.replies import Reply

# Seconds a cache may keep a page. Mastodon asks again every 15 minutes while a thread is
# looked at (and serves its own with `expires_in 0, public`): a new reply shows within a minute.
REPLIES_MAX_AGE = 60


class _Replies:
    def __init__(self, config: Config) -> None:
        self.base = config.server.base_url
        self.blogs = {blog.name: blog for blog in config.blogs}

    async def replies(self, request: web.Request) -> web.Response:
        blog = self.blogs.get(request.match_info["name"])
        post_id = urls.parse_id(request.match_info["id"])
        row = await BlogPost.get_or_none(id=post_id, blog=blog.name) if blog and post_id is not None else None
        if row is None:
            return error_response(404, "no such post")
        object_id = urls.post_object_id(urls.actor_id(self.base, row.blog), row.id)
        if row.state is PostState.GONE:
            tomb = tombstone_to_as2(urls.post_replies(object_id), former_type="Collection", deleted=row.gone_at)
            return json_response(tomb, AS2_CONTENT_TYPE, 410)
        raw = request.query.get("page")
        page = urls.parse_id(raw) if raw is not None else None
        if raw is not None and page is None:
            return error_response(400, "page: expected a page number, from 1")
        if negotiate(request.headers.get("Accept")) is None:
            return as2_response(request, None, human=row.url)
        items = await replies_of(self.base, row, self.blogs)
        doc: dict[str, Any]
        if page is None:
            first, more = page_of(items, 1)
            doc = {"@context": AS2_CONTEXT, **replies_to_as2(object_id, [r.object_id for r in first], more=more)}
        else:
            shown, more = page_of(items, page)
            embedded = [await self._item(reply) for reply in shown]
            doc = {"@context": OBJECT_CONTEXT, **replies_page_to_as2(object_id, page, embedded, more=more)}
        response = as2_response(request, doc, human=row.url)
        response.headers["Cache-Control"] = f"public, max-age={REPLIES_MAX_AGE}"
        return response

    async def _item(self, reply: Reply) -> str | dict[str, Any]:
        """A fediverse reply by its id; one of the blog's answers whole (the page's @context applies)."""
        if reply.answer is None or reply.answer.blog not in self.blogs:
            return reply.object_id
        blog = self.blogs[reply.answer.blog]
        obj = await post_object(self.base, blog, reply.answer, await blog_language(blog.name), self.blogs)
        obj.pop("@context", None)
        return obj


def add_routes(app: web.Application) -> None:
    """Register GET `urls.POST_REPLIES_ROUTE` (bridge/public/routes.py `add_routes` calls this)."""
    app.router.add_get(urls.POST_REPLIES_ROUTE, _Replies(app[CONFIG]).replies)
