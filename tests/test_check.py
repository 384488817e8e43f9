"""`bridge check` run as operators run it (the installed command, a config file), against
the recorded WordPress blog served on 127.0.0.1 and the bridge's own app serving its
public URL: each point's ✓/✗ is checked on a blog that passes it and one that fails it."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestServer

from bridge.app import make_app
from bridge.config import load_config

from .blogserver import BlogServer

BLOG = "http://127.0.0.1:8765/"
LINE = re.compile(r"^  ([✓✗]) (.+?)( \(optional\))?: (.*)$")


async def run_check(bridge_cmd: list[str], bridge_env: dict[str, str], path: Path) -> tuple[int, str, dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(*bridge_cmd, "-c", str(path), "check", env=bridge_env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    text = out.decode()
    marks = {m.group(2): m.group(1) for line in text.splitlines() if (m := LINE.match(line))}
    print(text)  # shown with -s or on failure
    assert proc.returncode is not None
    return proc.returncode, text + err.decode(), marks


@pytest.fixture
async def bridge(write_config: Callable[..., Path], free_port: int) -> AsyncIterator[Callable[..., Any]]:
    """Start the bridge's app on its public URL (http://127.0.0.1:PORT) with a given config."""
    servers: list[TestServer] = []

    async def start(extra: str = "", *, serve: bool = True, blog_url: str = BLOG, queue: str = "") -> Path:
        path = write_config(extra, blog_url=blog_url, base_url=f"http://127.0.0.1:{free_port}", queue=queue)
        if serve:
            server = TestServer(make_app(load_config(path, env={}), workers=False), host="127.0.0.1", port=free_port)
            await server.start_server()
            servers.append(server)
        return path

    yield start
    for server in servers:
        await server.close()


def edit_posts(blog: BlogServer, change: Callable[[str], str], headers: Callable[[list[tuple[str, str]]], list[tuple[str, str]]]) -> int:
    """Apply `change` to every recorded post page (those with a webmention link) and its headers."""
    edited = 0
    for route in blog.routes.values():
        if b'rel="webmention"' in route.body and b'rel="canonical"' in route.body:
            route.body = change(route.body.decode()).encode()
            route.headers = headers(route.headers)
            edited += 1
    return edited


async def test_recorded_wordpress_blog_passes_the_required_points(bridge: Any, bridge_cmd: list[str],
                                                                  bridge_env: dict[str, str]) -> None:
    blog = await BlogServer.wordpress("twentytwentyone").start()
    try:
        path = await bridge()
        code, out, marks = await run_check(bridge_cmd, bridge_env, path)
    finally:
        await blog.stop()
    assert code == 0, out
    for point in ("blog reachable", "feed found", "recent post readable", "author name and avatar",
                  "webmention endpoint on posts", "bridge's public URL serves the actor", "keys present", "clock sane",
                  "delivery settings"):
        assert marks[point] == "✓", out
    # WordPress as installed has none of the optional pieces.
    for point in ("@name@blog-domain handle", "rel=alternate ActivityPub link on posts", "fediverse:creator meta tag"):
        assert marks[point] == "✗", out
    assert "http://127.0.0.1:8765/wp-json/webmention/1.0/endpoint" in out
    assert "sources: title ← " in out  # which fields came from where, as inspect shows them
    # Without handle_domain, the handle that works is the bridge's.
    assert "fix: add <meta name=\"fediverse:creator\" content=\"@blog@127.0.0.1:" in out
    assert "content=\"@blog@127.0.0.1:8765\"" not in out
    assert "all required points pass; 3 optional point(s) missing" in out


async def test_a_blog_with_every_optional_piece(bridge: Any, bridge_cmd: list[str], bridge_env: dict[str, str],
                                                free_port: int) -> None:
    base = f"http://127.0.0.1:{free_port}"
    blog = BlogServer.wordpress("twentytwentythree")

    def add_tags(html: str) -> str:
        permalink = re.search(r'<link rel="canonical" href="([^"]+)"', html)
        assert permalink is not None
        tags = (f'<link rel="alternate" type="application/activity+json" '
                f'href="{base}/users/blog/posts?url={quote(permalink.group(1), safe="")}">'
                '<meta name="fediverse:creator" content="@blog@127.0.0.1:8765">')
        return html.replace("</head>", tags + "</head>", 1)

    assert edit_posts(blog, add_tags, lambda h: h) >= 5
    # The blog's WebFinger redirects to the bridge's (what the docs tell WordPress operators to set up).
    resource = "acct:blog@127.0.0.1:8765"
    blog.add(f"{BLOG}.well-known/webfinger?resource={resource}", b"",
             {"Location": f"{base}/.well-known/webfinger?resource={quote(resource)}"}, status=302)
    await blog.start()
    try:
        path = await bridge('handle_domain = "127.0.0.1:8765"\n')
        code, out, marks = await run_check(bridge_cmd, bridge_env, path)
    finally:
        await blog.stop()
    assert code == 0, out
    assert set(marks.values()) == {"✓"}, out
    assert f"@blog@127.0.0.1:8765 → {base}/users/blog" in out
    assert "all required points pass; 0 optional point(s) missing" in out


async def test_missing_webmention_endpoint_wrong_creator_and_no_bridge_fail(
        bridge: Any, bridge_cmd: list[str], bridge_env: dict[str, str]) -> None:
    blog = BlogServer.wordpress("twentytwentyone")

    def strip(html: str) -> str:
        html = re.sub(r'<link rel="webmention"[^>]*>', "", html)
        return html.replace("</head>", '<meta name="fediverse:creator" content="@someone@else.example"></head>', 1)

    edit_posts(blog, strip, lambda headers: [(k, v) for k, v in headers if "webmention" not in v])
    await blog.start()
    try:
        path = await bridge(serve=False)  # nothing listens on the bridge's public URL
        code, out, marks = await run_check(bridge_cmd, bridge_env, path)
    finally:
        await blog.stop()
    assert code == 1, out
    assert marks["webmention endpoint on posts"] == "✗"
    assert "fix: install the WordPress Webmention plugin" in out
    assert marks["bridge's public URL serves the actor"] == "✗"
    assert marks["fediverse:creator meta tag"] == "✗"
    assert "@someone@else.example (expected @blog@127.0.0.1:" in out
    # The rest still passes: the ✗ are per point, not all-or-nothing.
    assert marks["blog reachable"] == marks["feed found"] == marks["keys present"] == "✓"
    assert "2 required point(s) fail" in out


async def test_unreachable_blog(bridge: Any, bridge_cmd: list[str], bridge_env: dict[str, str]) -> None:
    # A port held but not listening: connections are refused (8765 may be in use by another test run).
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        blog_url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        path = await bridge(blog_url=blog_url)
        code, out, marks = await run_check(bridge_cmd, bridge_env, path)
    assert code == 1, out
    assert marks["blog reachable"] == "✗"
    assert f"fix: check blogs.url ({blog_url})" in out
    assert marks["bridge's public URL serves the actor"] == "✓" and marks["keys present"] == "✓"


async def test_delivery_settings_copied_from_an_old_example_are_named_not_failed(
        bridge: Any, bridge_cmd: list[str], bridge_env: dict[str, str]) -> None:
    blog = await BlogServer.wordpress("twentytwentyone").start()
    try:
        path = await bridge("[delivery]\nper_host_concurrency = 1\n", queue="concurrency = 8")
        code, out, marks = await run_check(bridge_cmd, bridge_env, path)
    finally:
        await blog.stop()
    assert code == 0, out  # an optional point: a gentle bridge is the operator's choice
    assert marks["delivery settings"] == "✗", out
    assert "✗ delivery settings (optional): queue.concurrency = 8: at most 8 deliveries run at once" in out
    assert "older copies of config.example.toml set 8" in out
    assert "delivery.per_host_concurrency = 1" in out
    assert "fix: remove those lines from the config" in out
    assert "4 optional point(s) missing" in out


async def test_check_says_which_post_fields_are_missing_and_where_it_looked(
    bridge: Callable[..., Any], bridge_cmd: list[str], bridge_env: dict[str, str],
) -> None:
    """A Hugo blog without microformats (tests/fixtures/engines/hugo-og): everything is
    found but an author picture, and check says where it looked and what to add."""
    from .engines import engine_routes

    path = await bridge()
    blog = await BlogServer(routes=engine_routes("hugo-og")).start()
    try:
        _code, text, marks = await run_check(bridge_cmd, bridge_env, path)
    finally:
        await blog.stop()
    assert marks["post fields found"] == "✗"
    assert "author picture missing on http://127.0.0.1:8765/posts/" in text
    assert "no author picture on post pages (looked in: the author's h-card (u-photo)" in text
    assert "set avatar in [[blogs]]" in text
    assert "no content on post pages" not in text and "no author on post pages" not in text
