"""What any blog embeds to show its fediverse comments without a webmention receiver (Hugo,
Jekyll, Eleventy): GET /api/comments?url=PERMALINK (the comments as JSON) and GET
/widget/comments.js (the `<fediverse-comments>` element that shows them). An edge, beside
bridge/public/routes.py; the JSON is shaped by bridge/public/comments.py (pure).

Both are read from other origins by readers' browsers: `Access-Control-Allow-Origin: *` and
no cookies (the script fetches with `credentials: "omit"`), a short public `max-age` and a
strong `ETag` (the body's hash), so a page view costs a 304 once the comments are cached.
Only what the blog would show is listed: published, public or unlisted interactions of a live
post of a configured blog (the same rule as the post's `replies` collection:
bridge/publish/replies.py `SHOWN`).
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from bridge.appkeys import CONFIG
from bridge.as2.actor import handle
from bridge.config import Config
from bridge.core import urls
from bridge.models import BlogPost, Interaction, InteractionState, PostState
from bridge.public.comments import (
    PostRef,
    Shown,
    comments_document,
    etag_of,
    not_modified,
    permalink_variants,
)
from bridge.public.negotiation import CORS, error_response
from bridge.publish.replies import SHOWN

STATIC = Path(__file__).parent / "static"
COMMENTS_MAX_AGE = 60  # seconds: a new reply shows within a minute (as the replies collection: public/replies.py)
SCRIPT_MAX_AGE = 3600  # the script changes with the bridge's version only
MAX_URL = 2000  # BlogPost.url's length: a longer one names no post
# Read from any page: a page that isolates itself (COEP) may still load these.
_SHARED = {**CORS, "Cross-Origin-Resource-Policy": "cross-origin", "X-Content-Type-Options": "nosniff"}


def cached_response(request: web.Request, body: bytes, content_type: str, max_age: int) -> web.Response:
    """`body` with its ETag and a public max-age; 304 when the client has it already."""
    etag = etag_of(body)
    headers = {**_SHARED, "ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if not_modified(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers, content_type=content_type, charset="utf-8")


def shown_of(row: Interaction) -> Shown:
    """The stored interaction as the translator reads it."""
    return Shown(row_id=row.id, kind=str(row.kind), object_id=row.object_id, actor=row.actor_uri,
                 published=row.published or row.created_at, author_name=row.author_name,
                 author_photo=row.author_photo, author_url=row.author_url, author_handle=row.author_handle,
                 content=row.content, summary=row.summary, url=row.url, edited=row.edited,
                 parent_id=row.parent_id, extras=row.data or {})


class _Widget:
    def __init__(self, config: Config) -> None:
        self.base = config.server.base_url
        self.host = config.server.host
        self.blogs = {blog.name: blog for blog in config.blogs}
        self.script = (STATIC / "comments.js").read_bytes()  # read once per app: a file of the package

    async def _post(self, url: str) -> BlogPost | None:
        """The live post of one of our blogs that `url` names: its permalink as the blog writes it
        (see `permalink_variants`), or its object id."""
        try:
            route = urls.parse(self.base, url)
        except ValueError:  # no URL at all (`http://[`): no post either
            return None
        if isinstance(route, urls.PostObject):
            row = await BlogPost.get_or_none(id=route.post_id, blog=route.name) if route.name in self.blogs else None
        else:
            rows = await BlogPost.filter(blog__in=list(self.blogs), url__in=permalink_variants(url))
            rows.sort(key=lambda r: (r.url != url, r.id))  # the exact permalink first
            row = rows[0] if rows else None
        return row if row is not None and row.state is PostState.LIVE else None

    async def comments(self, request: web.Request) -> web.Response:
        url = request.query.get("url", "").strip()
        if not url:
            return error_response(400, "url: missing (the post's permalink)")
        if len(url) > MAX_URL:
            return error_response(400, f"url: longer than {MAX_URL} characters")
        row = await self._post(url)
        if row is None:
            return error_response(404, f"no post {url[:200]} on this bridge (not polled yet?)")
        blog = self.blogs[row.blog]
        actor = urls.actor_id(self.base, blog.name)
        title = (row.data or {}).get("title")
        post = PostRef(title=title if isinstance(title, str) else None, url=row.url,
                       object_id=urls.post_object_id(actor, row.id), actor=actor, handle=handle(blog, self.host),
                       interact=urls.interact(self.base))
        shown = await Interaction.filter(blog=row.blog, post_id=row.id, state=InteractionState.PUBLISHED,
                                         visibility__in=SHOWN).order_by("published", "id")
        doc = comments_document(post, [shown_of(i) for i in shown])
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cached_response(request, body, "application/json", COMMENTS_MAX_AGE)

    async def comments_script(self, request: web.Request) -> web.Response:
        return cached_response(request, self.script, "text/javascript", SCRIPT_MAX_AGE)  # RFC 9239


def add_routes(app: web.Application) -> None:
    """Register GET `urls.API_COMMENTS_PATH` and `urls.WIDGET_COMMENTS_SCRIPT_PATH`
    (bridge/public/routes.py `add_routes` calls this)."""
    widget = _Widget(app[CONFIG])
    app.router.add_get(urls.API_COMMENTS_PATH, widget.comments)
    app.router.add_get(urls.WIDGET_COMMENTS_SCRIPT_PATH, widget.comments_script)
