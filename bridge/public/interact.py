"""`GET /interact?uri=URI&account=ACCOUNT`: follow a blog, or answer one of its posts, from
the reader's own server, with no script on our side.

`uri` is one of our blogs' actor ids (follow) or one of its posts' object ids (reply, boost,
like: the same lookup); `account` is what the reader typed (bridge/public/intents.py reads
it). The reader's server is asked, by WebFinger, for its interaction template, and the
browser is sent there (302) with our URI filled in. Without `account`, or when the lookup
fails, the page asks again and says why (400 for what the reader typed, 502 for what their
server answered or did not), never a 500.

Every fetch goes through the one guarded client (bridge/net/guard.py): a reader cannot make
the bridge fetch a private address, unless `security.allow_private_addresses`, which also
allows plain http (tried after https: local test servers). The templates a server gave are
kept per host for a while (per app, a bounded number of hosts): a burst of readers from one
server asks it once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bridge.appkeys import CONFIG, HTTP
from bridge.config import Config
from bridge.core import urls
from bridge.core.singleflight import SharedReads
from bridge.models import BlogPost, PostState
from bridge.net.fetch import (
    AddressRefused,
    FetchError,
    FetchResult,
    HTTPStatusError,
    fetch,
)
from bridge.public.intents import (
    FOLLOW,
    JRD_ACCEPT,
    OBJECT,
    BadAccount,
    Reader,
    fallback_templates,
    interaction_url,
    is_nodeinfo,
    nodeinfo_url,
    parse_account,
    templates_of,
    webfinger_url,
)
from bridge.public.pages import BlogCard, Pages, PostLine, blog_card, post_line

TIMEOUT = 5.0  # seconds for one fetch, redirects included: a reader is waiting
LOOKUP_SECONDS = 8.0  # for the whole lookup (WebFinger, then NodeInfo; https, then http in tests)
CONNECT_TIMEOUT = 3.0
MAX_BYTES = 64 * 1024  # a JRD is a few hundred bytes
KEEP_SECONDS = 600.0  # how long a host's templates are kept
KEEP_HOSTS = 512  # hosts kept at most (what readers type must not grow memory without end)
MAX_URI = 2000

log = logging.getLogger("bridge.public")

Answer = FetchResult | HTTPStatusError


class LookupFailed(Exception):
    """The reader's server gave no way to interact: `status` (400: their input, 502: their
    server) and the `reason` shown to them."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError), or nested too deep
        return None


class Templates:
    """Interaction templates by host: asked by WebFinger, kept KEEP_SECONDS for KEEP_HOSTS hosts."""

    def __init__(self, *, allow_http: bool) -> None:
        self.allow_http = allow_http
        self._kept: OrderedDict[tuple[str, bool], tuple[float, dict[str, str]]] = OrderedDict()
        self._reads: SharedReads[tuple[str, bool], dict[str, str]] = SharedReads()

    async def find(self, session: aiohttp.ClientSession, reader: Reader) -> dict[str, str]:
        """The templates of the reader's server, by rel; raises LookupFailed.

        Kept per host, not per account: every account on a server is sent to the same page,
        and a reader's typo there is their server's to answer."""
        key = (reader.host, reader.user is None)
        hit = self._kept.get(key)
        if hit is not None and time.monotonic() - hit[0] < KEEP_SECONDS:
            return hit[1]
        load = (lambda: self._server(session, reader)) if reader.user is None else (lambda: self._account(session, reader))
        try:
            async with asyncio.timeout(LOOKUP_SECONDS):
                return await self._reads.read(key, load, lambda started, found: self._keep(key, started, found))
        except TimeoutError:
            raise LookupFailed(502, f"{reader.host} did not answer in {LOOKUP_SECONDS:g} seconds") from None

    def _keep(self, key: tuple[str, bool], started: float, found: dict[str, str]) -> None:
        if not found:
            return
        self._kept[key] = (started, found)
        self._kept.move_to_end(key)
        while len(self._kept) > KEEP_HOSTS:
            self._kept.popitem(last=False)

    def _schemes(self, reader: Reader) -> tuple[str, ...]:
        if not self.allow_http:
            return ("https",)  # WebFinger is https (RFC 7033 section 4)
        first = reader.scheme or "https"
        return (first, "http" if first == "https" else "https")

    async def _first_answer(self, session: aiohttp.ClientSession, reader: Reader, path: str) -> tuple[Answer, str]:
        """The first answer (a 2xx, or an error status) of the reader's server at `path`
        ("webfinger" or "nodeinfo"), and the scheme that reached it."""
        failure: FetchError | None = None
        for scheme in self._schemes(reader):
            url = webfinger_url(scheme, reader) if path == "webfinger" else nodeinfo_url(scheme, reader)
            try:
                return await fetch(session, url, accept=JRD_ACCEPT if path == "webfinger" else "application/json",
                                   max_bytes=MAX_BYTES, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT), scheme
            except HTTPStatusError as exc:
                return exc, scheme
            except AddressRefused as exc:  # a private address (bridge/net/guard.py)
                where = f" (it resolves to {exc.address})" if exc.address and exc.address not in reader.host else ""
                raise LookupFailed(400, f"{reader.host} is not a public server{where}") from None
            except FetchError as exc:
                failure = exc
        raise LookupFailed(502, f"{reader.host} could not be reached ({failure.reason if failure else 'no answer'})")

    async def _account(self, session: aiohttp.ClientSession, reader: Reader) -> dict[str, str]:
        answer, _scheme = await self._first_answer(session, reader, "webfinger")
        if isinstance(answer, HTTPStatusError):
            if answer.status in (404, 410):
                raise LookupFailed(400, f"{reader.host} knows no account @{reader.handle}")
            raise LookupFailed(502, f"{reader.host} answered HTTP {answer.status} when asked about @{reader.handle}")
        return templates_of(_json(answer.body))

    async def _server(self, session: aiohttp.ClientSession, reader: Reader) -> dict[str, str]:
        """Only a server: its instance account's templates if it has some, else Mastodon's
        page, once the server answered as a fediverse server (intents.fallback_templates)."""
        answer, scheme = await self._first_answer(session, reader, "webfinger")
        if isinstance(answer, FetchResult):
            jrd = _json(answer.body)
            if found := templates_of(jrd):
                return found
            if isinstance(jrd, dict) and isinstance(jrd.get("links"), list):
                return fallback_templates(scheme, reader)
        nodeinfo, scheme = await self._first_answer(session, reader, "nodeinfo")
        if isinstance(nodeinfo, FetchResult) and is_nodeinfo(_json(nodeinfo.body)):
            return fallback_templates(scheme, reader)
        raise LookupFailed(502, f"{reader.host} does not answer as a fediverse server does (no WebFinger, no NodeInfo)")


@dataclass(frozen=True, slots=True)
class Target:
    """What the reader is about to do: follow `blog`, or open `post` on their server."""

    kind: str  # intents.FOLLOW or intents.OBJECT
    uri: str
    blog: BlogCard
    post: PostLine | None = None


class InteractView:
    def __init__(self, config: Config, pages: Pages) -> None:
        self.config = config
        self.base = config.server.base_url
        self.blogs = {blog.name: blog for blog in config.blogs}
        self.pages = pages
        self.templates = Templates(allow_http=config.security.allow_private_addresses)

    async def _target(self, uri: str) -> Target | None:
        route = urls.parse(self.base, uri) if len(uri) <= MAX_URI else None
        if isinstance(route, urls.Actor) and route.name in self.blogs:
            return Target(FOLLOW, uri, await blog_card(self.config, self.blogs[route.name], posts=0))
        if isinstance(route, urls.PostObject) and route.name in self.blogs:
            row = await BlogPost.get_or_none(id=route.post_id, blog=route.name, state=PostState.LIVE)
            if row is not None:
                card = await blog_card(self.config, self.blogs[route.name], posts=0)
                return Target(OBJECT, uri, card, post_line(self.base, row))
        return None

    async def interact(self, request: web.Request) -> web.Response:
        uri = request.query.get("uri", "").strip()
        account = request.query.get("account")
        if not uri:
            return self.pages.refuse("interact.html", 400, "uri: missing (the account or post to interact with)",
                                     target=None, account="")
        target = await self._target(uri)
        if target is None:
            return self.pages.refuse("interact.html", 400, "uri: not an account or a post of this bridge",
                                     target=None, account="")
        if account is None:
            return self.pages.render("interact.html", target=target, account="", error=None)
        try:
            reader = parse_account(account)
            templates = await self.templates.find(request.app[HTTP], reader)
        except BadAccount as exc:
            return self.pages.refuse("interact.html", 400, exc.reason, target=target, account=account)
        except LookupFailed as exc:
            return self.pages.refuse("interact.html", exc.status, exc.reason, target=target, account=account)
        found = interaction_url(templates, target.kind, uri)
        if found is None:
            reason = f"{reader.host} gives no page to {'follow' if target.kind == FOLLOW else 'answer a post'} from elsewhere"
            return self.pages.refuse("interact.html", 502, reason, target=target, account=account)
        rel, location = found
        log.info("public.interact host=%s rel=%s uri=%s", reader.host, rel, uri)
        return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store",
                                                 "Referrer-Policy": "no-referrer"})


def add_routes(app: web.Application, pages: Pages) -> None:
    """Register urls.interact (bridge/public/front.py calls this)."""
    app.router.add_get(urls.INTERACT_PATH, InteractView(app[CONFIG], pages).interact)
