"""bridge/net/fetch.py against a real local aiohttp server: limits, redirects, 304, charsets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge import __version__
from bridge.blog.post import Link
from bridge.net.fetch import (
    FetchError,
    HTTPStatusError,
    ResponseTooLarge,
    TooManyRedirects,
    detect_charset,
    fetch,
    user_agent,
)

ETAG = '"v1"'
LAST_MODIFIED = "Fri, 02 Aug 2019 18:20:00 GMT"


class Seen:
    """What the server received."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, Seen]]:
    seen = Seen()

    async def record(request: web.Request) -> None:
        seen.headers.append(dict(request.headers))

    async def page(request: web.Request) -> web.Response:
        await record(request)
        if request.headers.get("If-None-Match") == ETAG or request.headers.get(
                "If-Modified-Since") == LAST_MODIFIED:
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(text="<p>hello</p>", content_type="text/html",
                            headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED,
                                     "Link": '</wp-json/wp/v2/posts/5>; rel="alternate"; '
                                             'type="application/json", </wm>; rel="webmention"'})

    async def declared_big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 2000, content_type="text/html")

    async def endless(request: web.Request) -> web.StreamResponse:
        # No Content-Length, and it never ends: only a client that stops reading returns.
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        while True:
            await response.write(b"y" * 4096)
            await asyncio.sleep(0)

    async def redirect(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        target = "/final" if n == 0 else f"../r/{n - 1}"  # relative Location
        return web.Response(status=302, headers={"Location": target})

    async def final(request: web.Request) -> web.Response:
        return web.Response(text="done", content_type="text/plain")

    async def latin1(request: web.Request) -> web.Response:
        return web.Response(body="café".encode("latin-1"),
                            headers={"Content-Type": "text/html; charset=ISO-8859-1"})

    async def meta_charset(request: web.Request) -> web.Response:
        body = '<html><head><meta charset="windows-1252"><title>x</title></head><body>naïve €</body></html>'
        return web.Response(body=body.encode("cp1252"), headers={"Content-Type": "text/html"})

    async def broken_utf8(request: web.Request) -> web.Response:
        return web.Response(body=b"ok \xff\xfe end", headers={"Content-Type": "text/html"})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410, text="deleted")

    async def ua(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/big", declared_big)
    app.router.add_get("/endless", endless)
    app.router.add_get("/r/{n}", redirect)
    app.router.add_get("/final", final)
    app.router.add_get("/latin1", latin1)
    app.router.add_get("/meta", meta_charset)
    app.router.add_get("/broken", broken_utf8)
    app.router.add_get("/slow", slow)
    app.router.add_get("/gone", gone)
    app.router.add_get("/ua", ua)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server, seen
    await test_server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"User-Agent": user_agent("https://bridge.example")}) as s:
        yield s


def url(server: tuple[TestServer, Seen], path: str) -> str:
    return str(server[0].make_url(path))


async def test_get_keeps_headers_links_and_final_url(server, session) -> None:
    result = await fetch(session, url(server, "/page"))
    assert result.status == 200 and not result.not_modified
    assert result.text == "<p>hello</p>" and result.charset == "utf-8"
    assert result.etag == ETAG and result.last_modified == LAST_MODIFIED
    assert result.content_type == "text/html"
    assert result.links == (
        Link(url=url(server, "/wp-json/wp/v2/posts/5"), rels=("alternate",), type="application/json"),
        Link(url=url(server, "/wm"), rels=("webmention",)),
    )
    assert server[1].headers[-1]["User-Agent"] == f"blog-fediverse-bridge/{__version__} (+https://bridge.example)"


async def test_conditional_get_304(server, session) -> None:
    result = await fetch(session, url(server, "/page"), etag=ETAG)
    assert result.not_modified and result.status == 304 and result.body == b""
    assert server[1].headers[-1]["If-None-Match"] == ETAG
    result = await fetch(session, url(server, "/page"), last_modified=LAST_MODIFIED)
    assert result.not_modified
    assert server[1].headers[-1]["If-Modified-Since"] == LAST_MODIFIED


async def test_size_cap_from_content_length(server, session) -> None:
    with pytest.raises(ResponseTooLarge) as caught:
        await fetch(session, url(server, "/big"), max_bytes=1000)
    assert caught.value.limit == 1000 and caught.value.url.endswith("/big")
    ok = await fetch(session, url(server, "/big"), max_bytes=2000)  # exactly at the cap
    assert len(ok.body) == 2000


async def test_size_cap_while_streaming(server, session) -> None:
    started = time.monotonic()
    with pytest.raises(ResponseTooLarge):
        await fetch(session, url(server, "/endless"), max_bytes=100_000, timeout=10)
    # It stopped reading at the cap, long before the timeout.
    assert time.monotonic() - started < 5


async def test_redirects_followed_and_limited(server, session) -> None:
    result = await fetch(session, url(server, "/r/3"), max_redirects=5)
    assert result.url == url(server, "/final") and result.text == "done"
    assert result.redirects == tuple(url(server, f"/r/{n}") for n in (3, 2, 1, 0))
    with pytest.raises(TooManyRedirects) as caught:
        await fetch(session, url(server, "/r/6"), max_redirects=5)
    assert caught.value.limit == 5 and len(caught.value.chain) == 6


async def test_charset_from_header_and_meta_and_default(server, session) -> None:
    assert (await fetch(session, url(server, "/latin1"))).text == "café"
    meta = await fetch(session, url(server, "/meta"))
    assert meta.charset == "cp1252" and "naïve €" in meta.text
    broken = await fetch(session, url(server, "/broken"))
    assert broken.charset == "utf-8" and broken.text == "ok \ufffd\ufffd end"


def test_detect_charset_rules() -> None:
    assert detect_charset("text/html; charset=\"UTF-8\"", b"") == "utf-8"
    assert detect_charset("text/html; charset=bogus", b'<meta charset="iso-8859-2">') == "iso8859-2"
    assert detect_charset(None, b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">') == "koi8-r"
    assert detect_charset(None, b'<meta charset="utf-16">') == "utf-8"  # ASCII bytes are not UTF-16
    assert detect_charset(None, b" " * 2000 + b'<meta charset="koi8-r">') == "utf-8"  # beyond 1024 bytes


async def test_timeout(server, session) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        await fetch(session, url(server, "/slow"), timeout=0.3)
    assert "timeout" in caught.value.reason and caught.value.status is None
    assert time.monotonic() - started < 2


async def test_http_error_status(server, session) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        await fetch(session, url(server, "/gone"))
    assert caught.value.status == 410 and caught.value.body == b"deleted"


async def test_connection_refused(session) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(session, "http://127.0.0.1:9/", timeout=2)
    assert caught.value.url == "http://127.0.0.1:9/"


async def test_default_user_agent_when_session_has_none(server) -> None:
    async with aiohttp.ClientSession() as bare:
        await fetch(bare, url(server, "/ua"))
    assert server[1].headers[-1]["User-Agent"] == user_agent()
    assert user_agent() == f"blog-fediverse-bridge/{__version__}"
