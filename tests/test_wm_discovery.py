"""Webmention endpoint discovery (W3C Webmention §3.1.2), each rule of the spec and each
case of webmention.rocks' discovery suite, served by a real local server: a target page
per case, and endpoints that record the webmention they receive (so the test checks
where it really went, query string and all)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.app import new_http_session
from bridge.config import Config
from bridge.webmention.discovery import discover_endpoint
from bridge.webmention.send import NoEndpoint, send_webmention

SOURCE = "https://bridge.example/interactions/1"


@dataclass
class Case:
    headers: list[tuple[str, str]] = field(default_factory=list)
    html: str = "<p>nothing</p>"
    expected: str | None = None  # the path + query the webmention must reach; None: no endpoint
    content_type: str = "text/html; charset=utf-8"


def page(head: str = "", body: str = "") -> str:
    return f"<!doctype html><html><head><title>t</title>{head}</head><body>{body}</body></html>"


# Each case is served at /t/NAME; endpoints are any path under /e/ (they record and answer 202).
CASES: dict[str, Case] = {
    "header-relative": Case([("Link", '</e/1>; rel=webmention')], expected="/e/1"),
    "header-absolute": Case([("Link", '<{origin}/e/2>; rel=webmention')], expected="/e/2"),
    "link-relative": Case(html=page('<link rel="webmention" href="/e/3">'), expected="/e/3"),
    "link-absolute": Case(html=page('<link rel="webmention" href="{origin}/e/4">'), expected="/e/4"),
    "a-relative": Case(html=page(body='<a rel="webmention" href="/e/5">endpoint</a>'), expected="/e/5"),
    "a-absolute": Case(html=page(body='<a rel="webmention" href="{origin}/e/6">endpoint</a>'), expected="/e/6"),
    "header-casing": Case([("LinK", '</e/7>; REL="WebMention"')], expected="/e/7"),
    "header-quoted-rel": Case([("Link", '</e/8>; rel="webmention"')], expected="/e/8"),
    "link-rel-list": Case(html=page('<link rel="something webmention other" href="/e/9">'), expected="/e/9"),
    "header-rel-list": Case([("Link", '</e/10>; rel="webmention somethingelse"')], expected="/e/10"),
    "header-before-html": Case([("Link", '</e/11>; rel="webmention"')],
                               html=page('<link rel="webmention" href="/e/wrong">'), expected="/e/11"),
    "rel-exact-token": Case(html=page('<link rel="not-webmention" href="/e/wrong">'
                                      '<link rel="webmention" href="/e/12">'), expected="/e/12"),
    "commented-out": Case(html=page('<!-- <link rel="webmention" href="/e/wrong"> -->'
                                    '<link rel="webmention" href="/e/13">'), expected="/e/13"),
    "escaped-html": Case(html=page(body='<code>&lt;a href="/e/wrong" rel="webmention"&gt;&lt;/a&gt;</code>'
                                        '<a href="/e/14" rel="webmention">x</a>'), expected="/e/14"),
    "empty-href": Case(html=page('<link rel="webmention" href="">'), expected="/t/empty-href"),
    "a-before-link": Case(html=page(body='<a rel="webmention" href="/e/16">x</a><link rel="webmention" href="/e/w">'),
                          expected="/e/16"),
    "link-before-a": Case(html=page('<link rel="webmention" href="/e/17">',
                                    '<a rel="webmention" href="/e/wrong">x</a>'), expected="/e/17"),
    "two-headers": Case([("Link", '</e/18>; rel="webmention"'), ("Link", '</e/wrong>; rel="webmention"')],
                        expected="/e/18"),
    "one-header-two-values": Case([("Link", '<https://elsewhere.example/>; rel="other", </e/19>; rel="webmention"')],
                                  expected="/e/19"),
    "link-without-href": Case(html=page('<link rel="webmention"><link rel="webmention" href="/e/20">'),
                              expected="/e/20"),
    "query-string": Case(html=page('<link rel="webmention" href="/e/21?query=yes&amp;n=2">'),
                         expected="/e/21?query=yes&n=2"),
    "path-relative": Case(html=page('<link rel="webmention" href="../e/22">'), expected="/e/22"),
    # 23 (a redirect) is served below: /t/redirect → /t/moved/page, whose endpoint is relative to it.
    "in-script-text": Case(html=page('<script>var s = \'<link rel="webmention" href="/e/wrong">\';</script>',
                                     '<a rel="webmention" href="/e/24">x</a>'), expected="/e/24"),
    "none": Case(html=page('<link rel="pingback" href="/e/wrong">'), expected=None),
    "not-html": Case(html='<link rel="webmention" href="/e/wrong">', content_type="text/plain", expected=None),
    "header-only-on-404": Case([("Link", '</e/26>; rel="webmention"')], expected="/e/26"),
}


class Site:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str]]] = []
        self.origin = ""

    async def target(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "redirect":
            raise web.HTTPFound("/t/moved/page")
        if name == "moved/page":
            return web.Response(text=page('<link rel="webmention" href="endpoint-23">'), content_type="text/html")
        case = CASES[name]
        headers = [(k, v.replace("{origin}", self.origin)) for k, v in case.headers]
        status = 404 if name == "header-only-on-404" else 200
        return web.Response(status=status, body=case.html.replace("{origin}", self.origin).encode(),
                            headers=[*headers, ("Content-Type", case.content_type)])

    async def endpoint(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert request.content_type == "application/x-www-form-urlencoded"
        self.received.append((request.path_qs, {k: str(v) for k, v in form.items()}))
        return web.Response(status=202, text="accepted")


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    s = Site()
    app = web.Application()
    app.router.add_get("/t/{name:.+}", s.target)
    app.router.add_post("/e/{tail:.*}", s.endpoint)
    app.router.add_post("/t/{tail:.*}", s.endpoint)  # an empty href: the page is its own endpoint
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    s.origin = str(server.make_url("")).rstrip("/")
    yield s
    await server.close()


@pytest.mark.parametrize("name", list(CASES))
async def test_discovery_case_served_for_real(name: str, site: Site, config: Config) -> None:
    target = f"{site.origin}/t/{name}"
    expected = CASES[name].expected
    async with new_http_session(config) as session:
        if expected is None:
            with pytest.raises(NoEndpoint):
                await send_webmention(session, SOURCE, target)
            assert site.received == []
            return
        sent = await send_webmention(session, SOURCE, target)
    assert sent.status == 202 and sent.endpoint == site.origin + expected
    assert site.received == [(expected, {"source": SOURCE, "target": target})]


async def test_redirected_target_resolves_relative_endpoint_against_the_final_url(site: Site, config: Config) -> None:
    target = f"{site.origin}/t/redirect"
    async with new_http_session(config) as session:
        sent = await send_webmention(session, SOURCE, target)
    assert sent.endpoint == f"{site.origin}/t/moved/endpoint-23"
    # The target sent is the one asked for, not where it redirected.
    assert site.received == [("/t/moved/endpoint-23", {"source": SOURCE, "target": target})]


@pytest.mark.parametrize(("links", "html", "expected"), [
    (['<https://a.example/wm>; rel="webmention"'], None, "https://a.example/wm"),
    (['<https://a.example/x>; rel="webmention-not"'], None, None),
    (['<https://a.example/x>; title="rel=webmention"; rel="other"'], None, None),
    (['<>; rel="webmention"'], None, "https://blog.example/post/1?x=1"),
    ([], '<LINK REL="WEBMENTION" HREF="/wm">', "https://blog.example/wm"),
    ([], '<a rel=webmention href=wm?x=1&amp;y=2>x</a>', "https://blog.example/post/wm?x=1&y=2"),
    ([], '<textarea><link rel="webmention" href="/wrong"></textarea><link rel="webmention" href="/ok">',
     "https://blog.example/ok"),
    ([], '<style>/* <link rel="webmention" href="/wrong"> */</style>', None),
    ([], '<![CDATA[<link rel="webmention" href="/wrong">]]>', None),
    ([], '<div rel="webmention" href="/wrong"></div>', None),
])
def test_discovery_rules(links: list[str], html: str | None, expected: str | None) -> None:
    assert discover_endpoint("https://blog.example/post/1?x=1", links, html) == expected
