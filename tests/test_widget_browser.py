"""The comments widget in a real browser (Debian's headless Chromium driven by Playwright): a
static blog page served from another origin includes /widget/comments.js and a
<fediverse-comments> element; the comments come from the bridge's /api/comments across
origins. The reply, its nested answers, likes, boosts and the reaction show; nothing private;
hostile names and HTML stay inert; the "reply from your server" form goes to /interact with
the post's id; a bridge that is down leaves one quiet line. Screenshots go to test-artifacts/,
and the README's (tests/admin_seed.py `readme_shot`)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.app import make_app
from bridge.config import load_config
from bridge.core.clock import utcnow
from bridge.models import Interaction, InteractionKind

from .admin_seed import ARTIFACTS, chromium, readme_shot, requires_chromium
from .comments_seed import HIDDEN_WORDS, Seeded, seed_comments

# Skipped on a developer's machine without Debian's chromium; in CI (.ci/run installs it) never.
pytestmark = requires_chromium

HEART = "\u2764"  # a reaction the test machine's fonts can draw (DejaVu has no colour emoji)
COLOURS = ["#c0504d", "#4f81bd", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#2c7a5b"]
PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,">
<style>
body {{ font: 17px/1.55 Georgia, "DejaVu Serif", serif; color: #2b2b2b; background: #fbf8f1;
       max-width: 38em; margin: 2em auto; padding: 0 1em; }}
a {{ color: #7a3e12; }}
</style></head>
<body>
<article><h1>{title}</h1><p>The tomatoes came early this year, and the beans never came at all.
Here is what I learned about soil, patience and slugs.</p></article>
<script src="{script}/widget/comments.js" defer></script>
<fediverse-comments src="{bridge}" url="{permalink}"><p>Comments are on the fediverse.</p></fediverse-comments>
<footer><p>The page goes on after the comments.</p></footer>
</body></html>
"""


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def avatar(name: str) -> str:
    colour = COLOURS[sum(map(ord, name)) % len(COLOURS)]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" fill="{colour}"/>'
            f'<text x="24" y="32" font-size="22" text-anchor="middle" fill="#fff" font-family="sans-serif">'
            f'{name[:1].upper()}</text></svg>')


def blog_app(pages: dict[str, str]) -> web.Application:
    """The blog: static pages (by path) and the commenters' avatars."""
    async def page(request: web.Request) -> web.Response:
        if request.path not in pages:
            raise web.HTTPNotFound()
        return web.Response(text=pages[request.path], content_type="text/html")

    async def picture(request: web.Request) -> web.Response:
        return web.Response(text=avatar(request.match_info["name"]), content_type="image/svg+xml")

    app = web.Application()
    app.router.add_get("/avatars/{name}.svg", picture)
    app.router.add_get("/{tail:.*}", page)
    return app


@dataclass
class Site:
    bridge: str
    blog: str
    seeded: Seeded


@pytest.fixture
async def site(write_config: Any, free_port: int) -> AsyncIterator[Site]:
    blog_port = unused_port()
    blog = f"http://127.0.0.1:{blog_port}"
    bridge = f"http://127.0.0.1:{free_port}"
    config = load_config(write_config(base_url=bridge, blog_url=f"{blog}/"), env={})
    bridge_server = TestServer(make_app(config, workers=False), host="127.0.0.1", port=free_port)
    await bridge_server.start_server()
    pages: dict[str, str] = {}
    blog_server = TestServer(blog_app(pages), host="127.0.0.1", port=blog_port)
    await blog_server.start_server()
    try:
        permalink = f"{blog}/2026/05/gardens/"
        seeded = await seed_comments(permalink, avatars=f"{blog}/avatars", title="What the garden taught me",
                                     reaction=HEART)
        pages["/2026/05/gardens/"] = PAGE.format(title="What the garden taught me", lang="en", script=bridge,
                                                 bridge=bridge, permalink=permalink)
        hostile = f"{blog}/2026/06/hostile/"
        # lang="en_US" is no locale (Intl throws on it): the dates must show all the same.
        pages["/2026/06/hostile/"] = PAGE.format(title="Hostile", lang="en_US", script=bridge, bridge=bridge,
                                                 permalink=hostile)
        post = (await seed_comments(hostile, avatars=f"{blog}/avatars", title="Hostile")).post
        await Interaction.create(
            blog="blog", kind=InteractionKind.REPLY, object_id="https://evil.example/notes/1", host="evil.example",
            actor_uri="https://evil.example/users/mallory", target_url=hostile, post_id=post.id, published=utcnow(),
            author_name="<img src=x onerror=window.__pwned=1>", author_url="javascript:window.__pwned=2",
            content=('<p>Hi<img src=x onerror="window.__pwned=3"><script>window.__pwned=4</script>'
                     '<a href="javascript:window.__pwned=5">click</a></p>'))
        await Interaction.create(
            blog="blog", kind=InteractionKind.LIKE, object_id="https://evil.example/likes/1", host="evil.example",
            actor_uri="https://evil.example/users/eve", target_url=hostile, post_id=post.id, published=utcnow(),
            author_name="Eve", data={"emoji": "<b onmouseover=window.__pwned=6>🔥</b>"})
        # A bridge that is down (nothing listens on that port): its API, or the script too.
        down = f"http://127.0.0.1:{unused_port()}"
        pages["/down/"] = PAGE.format(title="Down", lang="en", script=bridge, bridge=down, permalink=permalink)
        pages["/all-down/"] = PAGE.format(title="Down", lang="en", script=down, bridge=down, permalink=permalink)
        yield Site(bridge, blog, seeded)
    finally:
        await blog_server.close()
        await bridge_server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def open_page(browser: Any, url: str, width: int = 820) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    await page.goto(url)
    await page.wait_for_selector("fediverse-comments :is(.fc, .fc-unavailable)")
    await page.wait_for_function("!document.querySelector('fediverse-comments').hasAttribute('aria-busy')")
    return context, page, problems


async def all_pictures_loaded(page: Any) -> None:
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the avatars load lazily
    await page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")


async def test_comments_on_a_blog_of_another_origin(site: Site, browser: Any) -> None:
    context, page, problems = await open_page(browser, f"{site.blog}/2026/05/gardens/")
    widget = page.locator("fediverse-comments")
    text = await widget.inner_text()
    assert "Comments are on the fediverse." not in text  # the fallback, replaced
    assert await widget.locator("h2").inner_text() == "From the fediverse"

    # The thread: Rita's reply, Sam's answer nested under it, Tess's under Sam's (Sam's behind his content warning).
    top = widget.locator(".fc > ol.fc-replies > li")
    assert await top.count() == 2  # Rita, and Olly (whose parent is held)
    rita = top.nth(0)
    assert "Lovely post, thanks!" in await rita.locator(":scope > article").inner_text()
    assert await rita.locator(":scope > article strong").inner_text() == "thanks"
    sam = rita.locator(":scope > ol.fc-replies > li")
    assert await sam.locator(":scope > article .fc-author").inner_text() == "Sam"
    assert await sam.locator(":scope > article details summary").inner_text() == "gardening opinions"
    tess = sam.locator(":scope > ol.fc-replies > li")
    assert await tess.locator(":scope > article .fc-author").inner_text() == "Tess"
    assert await tess.locator(":scope > article").get_attribute("lang") == "en"
    assert "(edited)" in await tess.inner_text()
    assert await rita.locator(":scope > article .fc-author").get_attribute("href") == "https://social.example/@rita"
    assert await rita.locator(":scope > article .fc-original").get_attribute("href") == "https://social.example/@rita/101"

    # Likes, the boost and the reaction as rows of faces; a face without a picture is its initial.
    assert "2 likes" in text and "1 boost" in text and "1 reaction" in text and "4 replies" in text
    assert await widget.locator(".fc-faces img[alt='Lars']").count() == 1
    assert await widget.locator(".fc-faces [role=img][aria-label='Olga']").inner_text() == "O"
    assert await widget.locator(".fc-faces img[alt='Bea']").count() == 1
    reaction = widget.locator(".fc-face:has(img[alt='Rob'])")
    assert await reaction.locator(".fc-emoji").inner_text() == HEART
    assert "Quinn quoted this post" in " ".join(text.split())

    # Nothing the blog does not show.
    for words in HIDDEN_WORDS:
        assert words not in text
    for name in ("Paula", "Dan", "Hank", "Rex", "Dora", "Ben"):
        assert name not in text

    # Every link the widget makes is user-generated content.
    rels = await widget.locator("a[href]").evaluate_all("as => as.map(a => a.rel)")
    assert rels and set(rels) == {"nofollow ugc noopener"}

    # The page's own fonts and colours apply inside the widget.
    styles = await page.evaluate("""() => [document.body, document.querySelector('.fc-reply .fc-content')]
        .map(e => getComputedStyle(e)).map(s => [s.fontFamily, s.color])""")
    assert styles[0] == styles[1]

    # Reply from your server: a plain GET form to the bridge's /interact with the post's id.
    object_id = f"{site.bridge}/users/blog/posts/{site.seeded.post.id}"
    form = widget.locator("form.fc-act")
    assert await form.get_attribute("action") == f"{site.bridge}/interact"
    assert (await form.get_attribute("method")).lower() == "get"
    assert await form.locator("button:has-text('Reply')").get_attribute("value") == object_id
    assert await form.locator("button:has-text('Follow')").get_attribute("value") == f"{site.bridge}/users/blog"
    label = await form.locator("label").inner_text()
    assert "your own server" in label and await form.locator("input[name=account]").get_attribute("id")

    await all_pictures_loaded(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "widget-comments.png"), full_page=True)
    await page.evaluate("window.scrollTo(0, 0)")  # the clip is in the page's coordinates
    box = await widget.bounding_box()
    await page.screenshot(path=str(readme_shot("comments-widget.png")), full_page=True,
                          clip={"x": box["x"] - 24, "y": box["y"] - 16, "width": box["width"] + 48,
                                "height": box["height"] + 32})
    assert problems == []

    asked: list[str] = []

    async def interact(route: Any) -> None:  # the /interact page is another module's: here, what it is asked
        asked.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>ok</title>")

    await page.route(f"{site.bridge}/interact?*", interact)
    await form.locator("input[name=account]").fill("reader@example.social")
    await form.locator("input[name=account]").press("Enter")  # the first button: Reply
    await page.wait_for_url(f"{site.bridge}/interact?*")
    query = parse_qs(urlsplit(asked[0]).query)
    assert query == {"account": ["reader@example.social"], "uri": [object_id]}
    await context.close()

    # On a phone: no sideways scrolling.
    phone, page, problems = await open_page(browser, f"{site.blog}/2026/05/gardens/", width=390)
    await all_pictures_loaded(page)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.screenshot(path=str(ARTIFACTS / "widget-comments-phone.png"), full_page=True)
    assert problems == []
    await phone.close()


async def test_hostile_comments_stay_inert(site: Site, browser: Any) -> None:
    context, page, problems = await open_page(browser, f"{site.blog}/2026/06/hostile/")
    widget = page.locator("fediverse-comments")
    mallory = widget.locator(".fc-reply:has(a[href='https://evil.example/users/mallory'])")
    assert await mallory.locator(".fc-author").inner_text() == "<img src=x onerror=window.__pwned=1>"
    assert await mallory.locator(".fc-author").get_attribute("href") == "https://evil.example/users/mallory"
    assert await mallory.locator(".fc-content a").get_attribute("href") is None
    assert await widget.locator("script, [onerror], [onmouseover], img[src='x']").count() == 0
    assert await mallory.locator("time").inner_text()  # the page's lang="en_US" is no locale: a date all the same
    eve = widget.locator(".fc-face:has([aria-label='Eve'], img[alt='Eve']) .fc-emoji")
    assert await eve.inner_text() == "<b onmouseover=window.__pwned=6>🔥</b>"
    await eve.hover()
    assert await page.evaluate("window.__pwned") is None
    assert problems == []
    await context.close()


async def test_a_bridge_that_is_down(site: Site, browser: Any) -> None:
    # The script loaded, the comments not: one quiet line, and the page goes on.
    context, page, _problems = await open_page(browser, f"{site.blog}/down/")  # the refused connection is logged
    assert await page.locator("fediverse-comments").inner_text() == "Comments unavailable."
    assert await page.locator("footer").inner_text() == "The page goes on after the comments."
    await page.screenshot(path=str(ARTIFACTS / "widget-down.png"))
    await context.close()
    # The script itself unreachable: what the blog put inside the element stays.
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{site.blog}/all-down/", wait_until="load")
    assert await page.locator("fediverse-comments").inner_text() == "Comments are on the fediverse."
    await context.close()
