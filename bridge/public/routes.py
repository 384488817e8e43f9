"""The public HTTP surface the fediverse sees: discovery, actors, collections, objects.

An edge: it reads the database and the config and answers with what the translators
(webfinger, actor, as2, nodeinfo) make. GET only: inboxes are elsewhere.

Every AS2 document is negotiated: `application/activity+json` and `application/ld+json;
profile=…` get AS2 in that content type, also when `text/html` is listed at a lower q; a
browser (text/html preferred) is redirected: from an actor to its profile page
(bridge/public/front.py), from a post to the blog's page. Paging is keyset on
(published, id), newest first: a page never loads the whole table.

The route patterns are bridge/core/urls.py's, where every URL of ours is built and parsed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from tortoise.expressions import Q

from bridge import __version__
from bridge.appkeys import CONFIG
from bridge.as2.actor import instance_actor_to_as2
from bridge.as2.posts import create_to_as2, delete_to_as2, object_type, post_version, tombstone_to_as2, update_to_as2
from bridge.as2.vocab import AS2_CONTENT_TYPE, AS2_CONTEXT, OBJECT_CONTEXT
from bridge.blog.post import Post, post_from_dict
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.core.urls import (
    AUTHORIZE_INTERACTION_PATH,
    INSTANCE_ACTOR_PATH,
    activity_id,
    actor_collection,
    actor_id,
    instance_actor_id,
    post_object_id,
)
from bridge.jobs.store import utcnow
from bridge.keys import INSTANCE_ACTOR
from bridge.models import BlogPost, Follower, FollowState, OutboundFollow, OutboundFollowState, PostState
from bridge.public.front import add_routes as add_front_routes
from bridge.public.negotiation import CORS, as2_response, error_response, json_response, negotiate, refusal
from bridge.public.nodeinfo import CONTENT_TYPE as NODEINFO_TYPE
from bridge.public.nodeinfo import DOCUMENT_PATH, NODEINFO_PATH, nodeinfo_document, nodeinfo_links
from bridge.public.quotes import add_routes as add_quotes_routes
from bridge.public.replies import add_routes as add_replies_routes
from bridge.public.webfinger import (
    JRD_CONTENT_TYPE,
    WEBFINGER_PATH,
    XRD_CONTENT_TYPE,
    ResourceError,
    account_to_jrd,
    find_account,
    host_meta_jrd,
    host_meta_xrd,
)
from bridge.public.widget import add_routes as add_widget_routes
from bridge.publish.documents import NoActorKey, actor_document, actor_key, blog_language, post_object

PAGE_SIZE = 20  # items per collection page (Mastodon's outbox pages hold 20 too)


@dataclass
class _Page:
    items: list[Any]
    next_cursor: int | None  # max_id of the next (older) page
    prev_cursor: int | None  # min_id of the previous (newer) page


async def _actor_key(actor: str) -> tuple[str, datetime | None]:
    try:
        return await actor_key(actor)
    except NoActorKey as exc:  # prepare_storage makes them at start
        raise web.HTTPServiceUnavailable(text=str(exc)) from None


class _Views:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.base = config.server.base_url
        self.blogs = {blog.name: blog for blog in config.blogs}

    # -- discovery ---------------------------------------------------------------

    async def webfinger(self, request: web.Request) -> web.Response:
        try:
            account = find_account(self.config, request.query.get("resource"))
        except ResourceError as exc:
            return error_response(exc.status, exc.reason)
        jrd = account_to_jrd(account, base_url=self.base, rels=tuple(request.query.getall("rel", [])))
        return json_response(jrd, JRD_CONTENT_TYPE)

    async def host_meta(self, request: web.Request) -> web.Response:
        accept = (request.headers.get("Accept") or "").lower()
        if ("application/json" in accept or "application/jrd+json" in accept) and "xrd+xml" not in accept:
            return await self.host_meta_json(request)
        return web.Response(text=host_meta_xrd(self.base), content_type=XRD_CONTENT_TYPE, headers=CORS)

    async def host_meta_json(self, request: web.Request) -> web.Response:
        return json_response(host_meta_jrd(self.base), JRD_CONTENT_TYPE)

    async def nodeinfo_links(self, request: web.Request) -> web.Response:
        return json_response(nodeinfo_links(self.base), "application/json")

    async def nodeinfo(self, request: web.Request) -> web.Response:
        names = list(self.blogs)
        live = BlogPost.filter(blog__in=names, state=PostState.LIVE)
        now = utcnow()

        async def active(days: int) -> int:
            since = now - timedelta(days=days)
            return len(set(await live.filter(published__gte=since).distinct().values_list("blog", flat=True)))

        doc = nodeinfo_document(version=__version__, users=len(names), active_month=await active(30),
                                active_halfyear=await active(180), local_posts=await live.count(),
                                node_name=self.config.server.host)
        return json_response(doc, NODEINFO_TYPE)

    async def authorize_interaction(self, request: web.Request) -> web.Response:
        """The subscribe template's page: these accounts follow nobody, so it only says so."""
        uri = request.query.get("uri", "").strip()
        if not uri:
            return error_response(400, "uri: missing")
        shown = html.escape(uri)
        if uri.startswith(("http://", "https://")):
            shown = f'<a href="{shown}" rel="nofollow noopener noreferrer">{shown}</a>'
        text = ("<!doctype html><title>Nothing to do here</title><p>The accounts of this blog bridge cannot "
                f"follow or interact from here. Open {shown} on your own server instead.</p>")
        return web.Response(text=text, content_type="text/html")

    # -- actors --------------------------------------------------------------------

    def _blog(self, request: web.Request) -> BlogConfig:
        blog = self.blogs.get(request.match_info["name"])
        if blog is None:
            raise refusal(404, "no such account")
        return blog

    async def actor(self, request: web.Request) -> web.Response:
        """The actor document; a browser is sent to the blog's profile page (to follow it)."""
        blog = self._blog(request)
        profile = urls.profile_page(self.base, blog.name)
        if negotiate(request.headers.get("Accept")) is None:
            return as2_response(request, None, human=profile)
        await _actor_key(blog.name)  # 503 without a key
        return as2_response(request, await actor_document(self.base, blog), human=profile)

    async def instance_actor(self, request: web.Request) -> web.Response:
        pem, born = await _actor_key(INSTANCE_ACTOR)
        doc = instance_actor_to_as2(base_url=self.base, public_key_pem=pem, version=__version__, published=born)
        return as2_response(request, doc, human=None)

    async def instance_outbox(self, request: web.Request) -> web.Response:
        me = actor_collection(instance_actor_id(self.base), "outbox")
        doc = {"@context": AS2_CONTEXT, "id": me, "type": "OrderedCollection", "totalItems": 0, "orderedItems": []}
        return as2_response(request, doc, human=None)

    # -- posts ---------------------------------------------------------------------

    async def _language(self, blog: BlogConfig) -> str | None:
        return await blog_language(blog.name)

    async def _object(self, blog: BlogConfig, row: BlogPost, language: str | None) -> dict[str, Any]:
        return await post_object(self.base, blog, row, language, self.blogs)

    async def _row(self, request: web.Request) -> tuple[BlogConfig, BlogPost]:
        blog = self._blog(request)
        post_id = urls.parse_id(request.match_info["id"])
        row = await BlogPost.get_or_none(id=post_id, blog=blog.name) if post_id is not None else None
        if row is None:
            raise refusal(404, "no such post")
        return blog, row

    def _gone(self, blog: BlogConfig, row: BlogPost, object_id: str) -> web.Response:
        """410 with a Tombstone: the blog's page answered 404 or 410."""
        post: Post = post_from_dict(row.data, row.sources)
        tomb = tombstone_to_as2(object_id, former_type=object_type(post, blog.post_style), deleted=row.gone_at)
        return json_response(tomb, AS2_CONTENT_TYPE, 410)

    async def post(self, request: web.Request) -> web.Response:
        blog, row = await self._row(request)
        return await self._serve_post(request, blog, row)

    async def _serve_post(self, request: web.Request, blog: BlogConfig, row: BlogPost) -> web.Response:
        object_id = post_object_id(actor_id(self.base, blog.name), row.id)
        if row.state is PostState.GONE:
            return self._gone(blog, row, object_id)
        if negotiate(request.headers.get("Accept")) is None:
            return as2_response(request, None, human=row.url)
        return as2_response(request, await self._object(blog, row, await self._language(blog)), human=row.url)

    async def post_lookup(self, request: web.Request) -> web.Response:
        """A post's AS2 by its permalink: what the blog's <link rel="alternate"> points at."""
        blog = self._blog(request)
        url = request.query.get("url", "").strip()
        if not url:
            return error_response(400, "url: missing (the post's permalink)")
        variants = {url, url.rstrip("/"), url.rstrip("/") + "/"}
        row = await BlogPost.filter(blog=blog.name, url__in=list(variants)).first()
        if row is None:
            return error_response(404, f"no post {url} on {blog.name} (not polled yet?)")
        return await self._serve_post(request, blog, row)

    async def activity(self, request: web.Request) -> web.Response:
        blog, row = await self._row(request)
        verb = request.match_info["verb"]
        object_id = post_object_id(actor_id(self.base, blog.name), row.id)
        if verb == "delete":
            if row.state is not PostState.GONE:
                return error_response(404, "this post is not deleted")
            post = post_from_dict(row.data, row.sources)
            doc = delete_to_as2(object_id, actor=actor_id(self.base, blog.name), deleted=row.gone_at,
                                former_type=object_type(post, blog.post_style))
            return as2_response(request, doc, human=None)
        version = request.match_info.get("version")
        if row.state is PostState.GONE:
            tomb = tombstone_to_as2(activity_id(object_id, verb, version), former_type=verb.title())
            return json_response(tomb, AS2_CONTENT_TYPE, 410)
        if negotiate(request.headers.get("Accept")) is None:
            return as2_response(request, None, human=row.url)
        obj = await self._object(blog, row, await self._language(blog))
        # Every Update id keeps resolving, to the object as it is now (past versions are not kept).
        doc = create_to_as2(obj) if verb == "create" else update_to_as2(obj, version=version or post_version(row.fingerprint))
        return as2_response(request, doc, human=row.url)

    # -- collections -----------------------------------------------------------------

    async def outbox(self, request: web.Request) -> web.Response:
        blog = self._blog(request)
        me = actor_id(self.base, blog.name)
        url = actor_collection(me, "outbox")
        live = BlogPost.filter(blog=blog.name, state=PostState.LIVE, published__isnull=False)
        if not {"page", "max_id", "min_id"} & set(request.query):
            doc = {"@context": AS2_CONTEXT, "id": url, "type": "OrderedCollection",
                   "totalItems": await live.count(), "first": f"{url}?page=true", "last": f"{url}?page=true&min_id=0"}
            return as2_response(request, doc, human=blog.url)
        rows, older, newer = await _outbox_page(live, blog.name, _cursor(request, "max_id"), _cursor(request, "min_id"))
        language = await self._language(blog)
        items = [_bare(create_to_as2(await self._object(blog, row, language))) for row in rows]
        page = _Page(items, older, newer)
        return as2_response(request, _page_doc(request, url, page), human=blog.url)

    async def followers(self, request: web.Request) -> web.Response:
        blog = self._blog(request)
        url = actor_collection(actor_id(self.base, blog.name), "followers")
        accepted = Follower.filter(blog=blog.name, state=FollowState.ACCEPTED)
        if not {"page", "max_id"} & set(request.query):
            doc: dict[str, Any] = {"@context": AS2_CONTEXT, "id": url, "type": "OrderedCollection",
                                   "totalItems": await accepted.count()}
            if blog.show_followers:  # without `first`, Mastodon shows the list as hidden
                doc["first"] = f"{url}?page=true"
            return as2_response(request, doc, human=blog.url)
        if not blog.show_followers:
            return error_response(403, "this account does not show its followers (show_followers = false)")
        max_id = _cursor(request, "max_id")
        query = accepted.filter(id__lt=max_id) if max_id else accepted
        rows = await query.order_by("-id").limit(PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        page = _Page([r.actor_uri for r in rows], rows[-1].id if rows and more else None, None)
        return as2_response(request, _page_doc(request, url, page), human=blog.url)

    async def following(self, request: web.Request) -> web.Response:
        """Whom the blog follows: at most Bridgy Fed's bot, once it accepted (bridge/publish/following.py),
        listed in one page when lists are shown."""
        blog = self._blog(request)
        url = actor_collection(actor_id(self.base, blog.name), "following")
        items = [str(uri) for uri in await OutboundFollow.filter(
            blog=blog.name, state=OutboundFollowState.ACCEPTED).order_by("id").values_list("actor_uri", flat=True)]
        doc: dict[str, Any] = {"@context": AS2_CONTEXT, "id": url, "type": "OrderedCollection",
                               "totalItems": len(items)}
        if blog.show_followers:
            doc["orderedItems"] = items
            doc["first"] = {"id": f"{url}?page=true", "type": "OrderedCollectionPage", "partOf": url,
                            "orderedItems": items}
        return as2_response(request, doc, human=blog.url)

    async def featured(self, request: web.Request) -> web.Response:
        """The posts pinned in the config (`featured`), in its order; posts not polled yet are left out."""
        blog = self._blog(request)
        url = actor_collection(actor_id(self.base, blog.name), "featured")
        wanted = {v for u in blog.featured for v in (u, u.rstrip("/"), u.rstrip("/") + "/")}
        rows = await BlogPost.filter(blog=blog.name, state=PostState.LIVE, url__in=list(wanted)) if wanted else []
        order = {u.rstrip("/"): i for i, u in enumerate(blog.featured)}
        rows = sorted(rows, key=lambda r: order.get(r.url.rstrip("/"), len(order)))
        language = await self._language(blog)
        items = [_bare(await self._object(blog, row, language)) for row in rows]
        doc = {"@context": OBJECT_CONTEXT, "id": url, "type": "OrderedCollection", "totalItems": len(items),
               "orderedItems": items}
        return as2_response(request, doc, human=blog.url)


async def _outbox_page(live: Any, blog: str, max_id: int | None,
                       min_id: int | None) -> tuple[list[BlogPost], int | None, int | None]:
    """One page of live posts, newest first, by keyset on (published, id); and the cursors
    of the older page (max_id) and the newer one (min_id), None where there is none.

    max_id=N: the posts just older than N. min_id=N: the posts just newer than N (min_id=0:
    the oldest). No cursor: the newest."""
    if min_id is not None:
        after = await _anchor(blog, min_id) if min_id else None
        query = live.filter(Q(published__gt=after.published) | Q(published=after.published, id__gt=after.id)) if after else live
        rows = list(reversed(await query.order_by("published", "id").limit(PAGE_SIZE + 1)))
        newer = len(rows) > PAGE_SIZE
        rows = rows[-PAGE_SIZE:]
        older_cursor = (rows[-1].id if rows else min_id) if min_id else None  # the anchor itself is older
        return rows, older_cursor, rows[0].id if rows and newer else None
    before = await _anchor(blog, max_id) if max_id else None
    query = live.filter(Q(published__lt=before.published) | Q(published=before.published, id__lt=before.id)) if before else live
    rows = await query.order_by("-published", "-id").limit(PAGE_SIZE + 1)
    older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    newer_cursor = (rows[0].id if rows else max_id) if max_id else None  # the anchor itself is newer
    return rows, rows[-1].id if rows and older else None, newer_cursor


def _cursor(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    cursor = urls.parse_id(value, minimum=0)  # `min_id=0` is the last page's
    if cursor is None:
        raise refusal(400, f"{name}: expected a post id")
    return cursor


async def _anchor(blog: str, post_id: int) -> BlogPost:
    row = await BlogPost.get_or_none(id=post_id, blog=blog)
    if row is None or row.published is None:
        raise refusal(400, f"no dated post {post_id} to page from")
    return row


def _bare(doc: dict[str, Any]) -> dict[str, Any]:
    """A document embedded in a collection: the collection's @context applies."""
    doc.pop("@context", None)
    return doc


def _page_doc(request: web.Request, collection: str, page: _Page) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in request.query.items())
    doc: dict[str, Any] = {"@context": OBJECT_CONTEXT, "id": f"{collection}?{query}", "type": "OrderedCollectionPage",
                           "partOf": collection, "orderedItems": page.items}
    if page.next_cursor is not None:
        doc["next"] = f"{collection}?page=true&max_id={page.next_cursor}"
    if page.prev_cursor is not None:
        doc["prev"] = f"{collection}?page=true&min_id={page.prev_cursor}"
    return doc


def add_routes(app: web.Application) -> None:
    """Register the public GET routes (make_app calls this once)."""
    views = _Views(app[CONFIG])
    add = app.router.add_get
    add(WEBFINGER_PATH, views.webfinger)
    add("/.well-known/host-meta", views.host_meta)
    add("/.well-known/host-meta.json", views.host_meta_json)
    add(NODEINFO_PATH, views.nodeinfo_links)
    add(DOCUMENT_PATH, views.nodeinfo)
    add(AUTHORIZE_INTERACTION_PATH, views.authorize_interaction)
    add(INSTANCE_ACTOR_PATH, views.instance_actor)
    add(f"{INSTANCE_ACTOR_PATH}/outbox", views.instance_outbox)
    # What bridge/core/urls.py builds: actor_id, actor_collection, post_lookup, post_object_id, activity_id.
    add(urls.ACTOR_ROUTE, views.actor)
    for which, view in (("outbox", views.outbox), ("followers", views.followers), ("following", views.following),
                        ("featured", views.featured)):
        add(f"{urls.ACTOR_ROUTE}/{which}", view)
    add(urls.POSTS_ROUTE, views.post_lookup)
    add(urls.POST_ROUTE, views.post)
    add(urls.POST_ACTIVITY_ROUTE, views.activity)
    add(urls.POST_UPDATE_ROUTE, views.activity)
    add_replies_routes(app)  # urls.post_replies: bridge/public/replies.py
    add_quotes_routes(app)  # urls.quote_authorization: bridge/public/quotes.py
    add_front_routes(app)  # urls.front_door, urls.profile_page, urls.interact: bridge/public/front.py
    add_widget_routes(app)  # urls.api_comments, urls.widget_comments_script: bridge/public/widget.py
