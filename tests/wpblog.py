"""A stand-in for a live WordPress 6.1 blog with the Webmention plugin 5.3.3, for end-to-end tests.

A real aiohttp server on 127.0.0.1 (a free port) serving posts, their approved comments, the RSS
feed, the REST API, and the plugin's endpoint, which behaves as observed on a live install:
tests/fixtures/wordpress/webmention-plugin.md (its "Receiving" table and "Sending" section).
Sources are fetched for real and parsed with mf2py, as the plugin's MF2 handler parses them
(tests/wpblog_source.py); the markup is in tests/wpblog_pages.py.

Like WordPress, the feed's ETag is the md5 of its Last-Modified, which is the newest change of a
post still published: trashing a post that was not the last one changed leaves both as they were,
so a conditional GET gets 304 although the feed lost an item.
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
from aiohttp import web
from bs4 import BeautifulSoup
from multidict import CIMultiDict

from tests import wpblog_pages as pages
from tests.wpblog_source import (
    first,
    htmlspecialchars_decode,
    kses,
    link_needle,
    link_rels,
    parse_source,
)

ENDPOINT_PATH = "/wp-json/webmention/1.0/endpoint"


@dataclass
class Post:
    id: int
    slug: str
    title: str
    content_html: str
    published: datetime
    status: str  # "publish" or "trash"
    permalink: str
    author: str = "Binge Learner"
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    pings_open: bool = True


@dataclass
class Comment:
    id: int
    post_id: int
    parent: int  # 0: top level
    type: str  # 'comment', 'like', 'repost' or 'mention'
    author: str
    author_url: str
    content: str
    date_gmt: datetime | None
    approved: bool
    meta: dict[str, str] = field(default_factory=dict)
    by_blogger: bool = False  # written in WordPress's own comment form


@dataclass
class Received:
    source: str
    target: str
    status: int
    body: dict[str, Any]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


class WordPressBlog:
    def __init__(self, approve_domains: Iterable[str] = (), feed_size: int = 10,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.approve_domains = {d.lower() for d in approve_domains}  # option webmention_approve_domains
        self.feed_size = feed_size
        self.clock = clock or (lambda: datetime.now(UTC).replace(microsecond=0))
        self.posts: dict[int, Post] = {}
        self.comments: list[Comment] = []
        self.received: list[Received] = []
        self.origin = ""
        self._next_post, self._next_comment = 10, 1  # distinct ranges: a post id is never a comment's
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._agent = ""

    @property
    def url(self) -> str:
        return f"{self.origin}/"

    @property
    def endpoint(self) -> str:
        return f"{self.origin}{ENDPOINT_PATH}"

    @property
    def _plugin_agent(self) -> dict[str, str]:
        return {"User-Agent": f"{self._agent}; Webmention"}

    async def start(self) -> WordPressBlog:
        app = web.Application()
        app.router.add_post(ENDPOINT_PATH, self._receive)
        app.router.add_get("/{path:.*}", self._get)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        # The plugin's own requests (source fetches, discovery) add "; Webmention" to WordPress's agent.
        self._agent = f"WordPress/{pages.WP_VERSION}; {self.origin}"
        self._session = aiohttp.ClientSession(headers={"User-Agent": self._agent},
                                              timeout=aiohttp.ClientTimeout(total=10))
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # The blogger's side: what the dashboard does.

    def add_post(self, slug: str, title: str, content_html: str, published: datetime | None = None,
                 author: str = "Binge Learner", pings_open: bool = True, modified: datetime | None = None) -> Post:
        if not self.origin:
            raise RuntimeError("start() the blog before adding posts: permalinks carry its port")
        when = published or self.clock()
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)  # the blog's zone is UTC
        post = Post(self._next_post, slug, title, content_html, when, "publish",
                    f"{self.origin}/{when:%Y/%m/%d}/{slug}/", author, modified or when, pings_open)
        self._next_post += 1
        self.posts[post.id] = post
        return post

    def edit(self, post_id: int, title: str | None = None, content_html: str | None = None,
             modified: datetime | None = None) -> Post:
        post = self.posts[post_id]
        post.title = post.title if title is None else title
        post.content_html = post.content_html if content_html is None else content_html
        post.modified = modified or self.clock()
        return post

    def trash(self, post_id: int) -> None:
        self.posts[post_id].status = "trash"
        self.posts[post_id].modified = self.clock()

    def delete(self, post_id: int) -> None:
        """wp_delete_post: the post and its comments are gone."""
        del self.posts[post_id]
        self.comments[:] = [c for c in self.comments if c.post_id != post_id]

    def comment(self, comment_id: int) -> Comment:
        return next(c for c in self.comments if c.id == comment_id)

    def approve(self, comment_id: int) -> None:
        self.comment(comment_id).approved = True

    def published(self, post_id: int) -> Post | None:
        post = self.posts.get(post_id)
        return post if post is not None and post.status == "publish" else None

    def _new_comment(self, **fields: Any) -> Comment:
        comment = Comment(id=self._next_comment, **fields)
        self._next_comment += 1
        self.comments.append(comment)
        return comment

    async def answer(self, parent_id: int, text: str, author: str = "Binge Learner",
                     author_url: str | None = None) -> tuple[Comment, int, str]:
        """A reply written in WordPress's comment form; the plugin then sends one webmention.

        Source: the reply's `PERMALINK?replytocom=ID` page; target: the parent's meta `url`, else
        its source. Returns the new comment and what the endpoint answered (status 0: no endpoint)."""
        parent = self.comment(parent_id)
        post = self.posts[parent.post_id]
        reply = self._new_comment(post_id=post.id, parent=parent_id, type="comment", author=author,
                                  author_url=self.url if author_url is None else author_url, content=text,
                                  date_gmt=self.clock(), approved=True, meta={}, by_blogger=True)
        target = parent.meta.get("url") or parent.meta.get("webmention_source_url")
        endpoint = await self._discover(target) if target else None
        if not target or endpoint is None:
            return reply, 0, ""
        assert self._session is not None
        source = f"{post.permalink}?replytocom={reply.id}"
        try:
            async with self._session.post(endpoint, data={"source": source, "target": target}) as resp:
                return reply, resp.status, await resp.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError):
            return reply, 0, ""

    async def _discover(self, target: str) -> str | None:
        """Webmention discovery: a Link header with rel=webmention first, then <link>/<a> in the HTML."""
        assert self._session is not None
        try:
            async with self._session.get(target, max_redirects=20, headers=self._plugin_agent) as resp:
                final = str(resp.url)
                for value in resp.headers.getall("Link", []):
                    for href, rels in link_rels(value):
                        if "webmention" in rels:
                            return urljoin(final, href)
                html = await resp.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError):
            return None
        for el in BeautifulSoup(html, "html.parser").find_all(["link", "a"], href=True):
            if "webmention" in el.get_attribute_list("rel"):
                return urljoin(final, str(el["href"]))
        return None

    # What the blog serves.

    def _post_at(self, url: str) -> Post | None:
        """url_to_postid: a published post's permalink (query and fragment ignored) or `/?p=ID`."""
        u = urlsplit(url)
        if f"{u.scheme}://{u.netloc}".lower() != self.origin:
            return None
        if u.path in ("", "/"):
            p = first(parse_qs(u.query).get("p"))
            return self.published(int(p)) if p and p.isdigit() else None
        path = u.path.rstrip("/") + "/"
        return next((p for p in self.posts.values()
                     if p.status == "publish" and urlsplit(p.permalink).path == path), None)

    def _approved(self, post: Post) -> list[Comment]:
        found = [c for c in self.comments if c.post_id == post.id and c.approved]
        return sorted(found, key=lambda c: (c.date_gmt or post.published, c.id))

    def _feed_headers(self) -> tuple[str, str]:
        """WP::send_headers for a feed: Last-Modified from the last published post change; ETag its md5."""
        live = [p for p in self.posts.values() if p.status == "publish"]
        last = max((max(p.modified, p.published) for p in live), default=self.clock())
        stamp = last.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return stamp, '"' + hashlib.md5(stamp.encode()).hexdigest() + '"'

    def _feed(self, request: web.Request) -> web.Response:
        stamp, etag = self._feed_headers()
        headers = {"Last-Modified": stamp, "ETag": etag}
        client_etag = request.headers.get("If-None-Match")
        since = request.headers.get("If-Modified-Since", "").strip()
        try:
            client_time = parsedate_to_datetime(since).timestamp() if since else 0.0
        except (TypeError, ValueError):
            client_time = 0.0
        newer = client_time >= parsedate_to_datetime(stamp).timestamp()
        if (newer and client_etag == etag) if (since and client_etag) else (newer or client_etag == etag):
            return web.Response(status=304, headers=headers)
        live = sorted((p for p in self.posts.values() if p.status == "publish"),
                      key=lambda p: (p.published, p.id), reverse=True)[: self.feed_size]
        build = max((p.modified for p in live), default=parsedate_to_datetime(stamp))
        return web.Response(text=pages.feed(self.origin, live, build), headers=headers,
                            content_type="application/rss+xml", charset="UTF-8")

    def _rest(self, post_id: int) -> web.Response:
        post = self.posts.get(post_id)
        if post is None:
            err = Refused(404, "rest_post_invalid_id", "Invalid post ID.")
        elif post.status != "publish":
            err = Refused(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
        else:
            return web.json_response(pages.rest_post(self.origin, post), headers={
                "Link": f'<{post.permalink}>; rel="alternate"; type=text/html'})
        return web.json_response(err.body(), status=err.status)

    def _not_found(self) -> web.Response:
        return web.Response(status=404, text=pages.not_found(self.origin), content_type="text/html",
                            headers={"Cache-Control": "no-cache, must-revalidate, max-age=0"})

    async def _get(self, request: web.Request) -> web.StreamResponse:
        path, query = request.path, request.query
        if path == "/" and "p" not in query:
            return web.Response(text=pages.home(self.origin, sorted(
                (p for p in self.posts.values() if p.status == "publish"), key=lambda p: p.published, reverse=True)),
                content_type="text/html")
        if path == "/feed/":
            return self._feed(request)
        if m := re.fullmatch(r"/wp-json/wp/v2/posts/(\d+)/?", path):
            return self._rest(int(m.group(1)))
        if path == ENDPOINT_PATH:
            return web.Response(text=pages.endpoint_form(self.endpoint), content_type="text/html")
        post = self._post_at(f"{self.origin}{request.path_qs}")
        if post is None:
            return self._not_found()
        if path == "/":
            raise web.HTTPMovedPermanently(post.permalink)
        headers = CIMultiDict([("Link", f'<{self.endpoint}>; rel="webmention"'),
                               ("Link", f'<{self.endpoint}>; rel="http://webmention.org/"'),
                               ("Link", f'<{self.origin}/wp-json/>; rel="https://api.w.org/"'),
                               ("Link", (f'<{self.origin}/wp-json/wp/v2/posts/{post.id}>; rel="alternate"; '
                                         'type="application/json"')),
                               ("Link", f"<{self.origin}/?p={post.id}>; rel=shortlink")])
        reply_to = query.get("replytocom", "")
        mine = [c for c in self.comments if reply_to.isdigit() and c.id == int(reply_to) and c.by_blogger]
        if mine:
            parent = next((c for c in self.comments if c.id == mine[0].parent), None)
            page = pages.reply_page(self.origin, post, mine[0], parent, self.endpoint)
        else:
            page = pages.post_page(self.origin, post, self._approved(post), self.endpoint)
        return web.Response(text=page, content_type="text/html", headers=headers)

    # The plugin's endpoint.

    async def _receive(self, request: web.Request) -> web.Response:
        form = await request.post()
        source, target = str(form.get("source", "")).strip(), str(form.get("target", "")).strip()
        try:
            status, body = 200, await self._webmention(source, target)
        except Refused as refused:
            status, body = refused.status, refused.body()
        self.received.append(Received(source, target, status, body))
        return web.json_response(body, status=status)

    async def _fetch(self, source: str) -> str:
        """GET the source as the plugin does (redirects followed, 1 MB kept); errors end the request."""
        assert self._session is not None
        try:
            async with self._session.get(source, max_redirects=20, headers=self._plugin_agent) as resp:
                if resp.status in (404, 410):
                    raise Refused(resp.status, "http_error", resp.reason or "HTTP error")
                if not 200 <= resp.status < 300:
                    raise Refused(400, "source_not_found", "Source URL not found")
                return (await resp.content.read(1048576)).decode(resp.get_encoding(), errors="replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Refused(400, "source_not_found", "Source URL not found") from exc

    async def _webmention(self, source: str, target: str) -> dict[str, Any]:
        missing = [n for n, v in (("source", source), ("target", target)) if not v]
        if missing:
            raise Refused(400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}",
                          params=missing)
        invalid = [n for n, v in (("source", source), ("target", target))
                   if urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).hostname]
        if invalid:
            raise Refused(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(invalid)}",
                          params={n: "Invalid parameter." for n in invalid})
        if self.origin.split("://", 1)[1].lower() not in target.lower():
            raise Refused(400, "target_mismatching_domain", "Target is not on this domain")
        post = self._post_at(target)
        if post is None:
            raise Refused(400, "target_not_valid", "Target is not a valid post")
        if self._post_at(source) is post:
            raise Refused(400, "source_equals_target", "Target and source cannot direct to the same resource")
        if not post.pings_open:
            raise Refused(400, "webmentions_closed", "Webmentions are disabled for this post")
        body = await self._fetch(source)
        if htmlspecialchars_decode(body).find(link_needle(target)) < 1:  # PHP: ! strpos(...)
            raise Refused(400, "target_not_found", "Cannot find target link")
        parsed = parse_source(await self._fetch(source), source, target)  # the plugin fetches twice
        fragment = urlsplit(target).fragment
        meta = {"protocol": "webmention", "url": parsed.url, "webmention_source_url": source,
                "webmention_target_url": target, "avatar": parsed.avatar,
                "webmention_target_fragment": fragment}
        meta = {k: v for k, v in meta.items() if v}
        old = self._dupe(post, source, fragment)
        if old is not None:  # updated in place through wp_update_comment, whose filter keeps few tags
            old.type, old.author, old.author_url = parsed.type, parsed.author, parsed.author_url
            old.content, old.date_gmt = kses(parsed.content), parsed.published or old.date_gmt
            old.meta.update(meta)
            comment = old
        else:
            reply_to = first(parse_qs(urlsplit(target).query).get("replytocom")) or ""
            parent = reply_to if reply_to.isdigit() and any(c.id == int(reply_to) for c in self.comments) else "0"
            meta["webmention_created_at"] = self.clock().strftime("%Y-%m-%d %H:%M:%S")
            host = (urlsplit(source).hostname or "").lower()
            comment = self._new_comment(
                post_id=post.id, parent=int(parent), type=parsed.type, author=parsed.author,
                author_url=parsed.author_url, content=parsed.content, date_gmt=parsed.published or self.clock(),
                approved=host in self.approve_domains, meta=meta)
        return {"link": comment.meta.get("url") or source, "source": source, "target": target,
                "code": "success", "message": "Webmention was successful"}

    def _dupe(self, post: Post, source: str, fragment: str) -> Comment | None:
        """check_dupes: the same source on this post (and the same fragment), else meta url = source."""
        mine = [c for c in self.comments if c.post_id == post.id and not c.by_blogger]
        by_source = [c for c in mine if c.meta.get("webmention_source_url") == source
                     and (not fragment or c.meta.get("webmention_target_fragment") == fragment)]
        return first(by_source) or first([c for c in mine if c.meta.get("url") == source])
