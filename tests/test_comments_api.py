"""GET /api/comments and GET /widget/comments.js (bridge/public/widget.py, shaped by
bridge/public/comments.py) on the real app: the replies threaded, likes, boosts, reactions
and quotes; nothing held, private, rejected or deleted; hostile HTML and URLs made harmless;
CORS, caching, the ETag and its 304; the refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.config import load_config
from bridge.core import urls
from bridge.core.clock import utcnow
from bridge.models import BlogPost, Interaction, InteractionKind, PostState
from bridge.public.comments import (
    MAX_DEPTH,
    Shown,
    not_modified,
    permalink_variants,
    thread,
)

from .comments_seed import HIDDEN_WORDS, seed_comments

BASE = "https://bridge.example"
POST = "https://blog.example/2026/05/gardens/"
NOTES = """
[[blogs]]
name = "notes"
url = "https://notes.example/"
"""

Client = TestClient  # type: ignore[type-arg]


@asynccontextmanager
async def bridge(write_config: Callable[..., Path]) -> AsyncIterator[Client]:
    config = load_config(write_config(NOTES), env={})
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        yield client


async def comments(client: Client, url: str, status: int = 200, **headers: str) -> Any:
    resp = await client.get(f"/api/comments?url={quote(url, safe='')}", headers=headers)
    assert resp.status == status, await resp.text()
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    return await resp.json()


def authors(rows: list[dict[str, Any]]) -> list[str]:
    return [r["author"]["name"] for r in rows]


async def test_the_comments_of_a_post(write_config: Callable[..., Path]) -> None:
    async with bridge(write_config) as client:
        seeded = await seed_comments(POST)
        doc = await comments(client, POST)
    object_id = f"{BASE}/users/blog/posts/{seeded.post.id}"
    assert doc["post"] == {"title": "A post about gardens", "url": POST, "id": object_id,
                           "actor": f"{BASE}/users/blog", "handle": "blog@bridge.example",
                           "interact": f"{BASE}/interact"}
    assert doc["counts"] == {"replies": 4, "likes": 2, "boosts": 1, "reactions": 1, "quotes": 1}
    # The thread: rita ← sam ← tess; olly answered a held reply, so starts a thread of his own.
    assert authors(doc["replies"]) == ["Rita", "Olly"]
    rita = doc["replies"][0]
    assert authors(rita["children"]) == ["Sam"]
    sam = rita["children"][0]
    assert sam["summary"] == "gardening opinions"
    assert authors(sam["children"]) == ["Tess"] and sam["children"][0]["children"] == []
    tess = sam["children"][0]
    assert tess["language"] == "en" and tess["edited"].endswith("Z")
    assert rita == {
        "id": f"https://social.example/replys/rita-{seeded.post.id}",
        "author": {"name": "Rita", "handle": "rita@social.example", "avatar": "https://social.example/avatars/rita.svg",
                   "url": "https://social.example/@rita"},
        "content": "<p>Lovely post, <strong>thanks</strong>!</p>", "summary": None, "language": None,
        "published": rita["published"], "edited": None, "url": "https://social.example/@rita/101",
        "attachments": [], "children": rita["children"],
    }
    assert datetime.fromisoformat(rita["published"]).tzinfo is not None
    assert tess["url"] == tess["id"]  # no page of its own: its id, which opens in a browser too
    # Likes (a row from before likes kept `emoji` too), the reaction with its emoji, the boost, the quote.
    assert authors(doc["likes"]) == ["Lars", "Olga"] and doc["likes"][1]["author"]["avatar"] is None
    assert [(f["author"]["name"], f["emoji"]) for f in doc["reactions"]] == [("Rob", "🎉")]
    assert authors(doc["boosts"]) == ["Bea"]  # not Ben's followers-only boost
    assert doc["quotes"] == [{"author": doc["quotes"][0]["author"], "url": "https://social.example/@quinn/7",
                              "published": doc["quotes"][0]["published"]}]
    # Never what the blog does not show: held, followers-only, direct, rejected, deleted.
    text = json.dumps(doc)
    for words in HIDDEN_WORDS:
        assert words not in text
    for name in ("Paula", "Dan", "Hank", "Rex", "Dora", "Ben"):
        assert f'"{name}"' not in text


async def test_hostile_html_and_urls_are_made_harmless(write_config: Callable[..., Path]) -> None:
    async with bridge(write_config) as client:
        post = (await seed_comments(POST)).post
        await Interaction.create(
            blog="blog", kind=InteractionKind.REPLY, object_id="javascript:alert(1)//note", host="evil.example",
            actor_uri="https://evil.example/users/mallory", target_url=POST, post_id=post.id, published=utcnow(),
            author_name='<img src=x onerror=alert("name")>', author_handle="m@evil.example",
            author_url="javascript:alert('profile')", author_photo="data:image/svg+xml,<svg onload=alert(1)>",
            url="javascript:alert('original')", summary="<b>cw</b>",
            content=('<p class="u-like-of h-card" style="color:red" onclick="alert(1)">Hi <script>alert(1)</script>'
                     '<a href="javascript:alert(2)">x</a> <a href="https://ok.example/" rel="me">ok</a>'
                     '<img src=x onerror=alert(3)><iframe src="https://evil.example/"></iframe></p>'),
            data={"emoji": None, "language": "en\" onmouseover=\"alert(1)",
                  "attachments": [{"url": "javascript:alert(4)", "name": "a"},
                                  {"url": "https://evil.example/cat.png", "media_type": "image/png", "name": "A cat"}]})
        await Interaction.create(
            blog="blog", kind=InteractionKind.LIKE, object_id="https://evil.example/likes/1", host="evil.example",
            actor_uri="https://evil.example/users/eve", target_url=POST, post_id=post.id, published=utcnow(),
            data={"emoji": "<img src=x onerror=alert(5)>" + "x" * 500})
        doc = await comments(client, POST)
    mallory = doc["replies"][-1]
    assert mallory["content"] == ('<p>Hi <a rel="nofollow ugc noopener">x</a> '
                                  '<a href="https://ok.example/" rel="nofollow ugc noopener">ok</a></p>')
    # Text stays text (the script sets it with textContent); every URL is http(s) or null.
    assert mallory["author"] == {"name": '<img src=x onerror=alert("name")>', "handle": "m@evil.example",
                                 "avatar": None, "url": "https://evil.example/users/mallory"}
    assert mallory["url"] is None and mallory["language"] is None and mallory["summary"] == "<b>cw</b>"
    assert mallory["attachments"] == [{"url": "https://evil.example/cat.png", "type": "image/png", "name": "A cat"}]
    eve = doc["reactions"][-1]
    assert eve["author"]["name"] == "https://evil.example/users/eve" and len(eve["emoji"]) == 64


async def test_cors_cache_and_etag(write_config: Callable[..., Path]) -> None:
    async with bridge(write_config) as client:
        seeded = await seed_comments(POST)
        path = f"/api/comments?url={quote(POST, safe='')}"
        first = await client.get(path, headers={"Origin": "https://blog.example"})
        assert first.status == 200
        body = await first.read()
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")  # strong
        assert first.headers["Content-Type"] == "application/json; charset=utf-8"
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in first.headers
        assert first.headers["Cache-Control"] == "public, max-age=60"
        assert "Set-Cookie" not in first.headers
        again = await client.get(path)
        assert again.headers["ETag"] == etag and await again.read() == body  # the same comments, the same bytes
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            cached = await client.get(path, headers={"If-None-Match": header})
            assert cached.status == 304 and await cached.read() == b""
            assert cached.headers["ETag"] == etag and cached.headers["Access-Control-Allow-Origin"] == "*"
            assert cached.headers["Cache-Control"] == "public, max-age=60"
        assert (await client.get(path, headers={"If-None-Match": '"other"'})).status == 200
        # A new like changes the document, and so its tag.
        await Interaction.create(blog="blog", kind=InteractionKind.LIKE, object_id="https://social.example/likes/new",
                                 actor_uri="https://social.example/users/nina", host="social.example",
                                 target_url=POST, post_id=seeded.post.id, published=utcnow())
        changed = await client.get(path, headers={"If-None-Match": etag})
        assert changed.status == 200 and changed.headers["ETag"] != etag

        script = await client.get("/widget/comments.js")
        assert script.status == 200
        assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert script.headers["Access-Control-Allow-Origin"] == "*"
        assert script.headers["Cache-Control"].startswith("public, max-age=")
        source = await script.text()
        assert "customElements.define(\"fediverse-comments\"" in source and 'credentials: "omit"' in source
        assert len(source.encode()) < 16_000  # a few KB, no framework
        assert (await client.get("/widget/comments.js", headers={"If-None-Match": script.headers["ETag"]})).status == 304


async def test_finding_the_post(write_config: Callable[..., Path]) -> None:
    async with bridge(write_config) as client:
        seeded = await seed_comments(POST)
        notes = await seed_comments("https://notes.example/2026/hello", blog="notes", title="Hello")
        object_id = urls.post_object_id(urls.actor_id(BASE, "blog"), seeded.post.id)
        # As the blog writes it: with or without the trailing slash, a fragment, the host in capitals; its object id.
        for url in (POST, POST.rstrip("/"), f"{POST}#comments", "HTTPS://Blog.Example/2026/05/gardens/", object_id):
            assert (await comments(client, url))["post"]["id"] == object_id, url
        # A post of another configured blog.
        doc = await comments(client, "https://notes.example/2026/hello/")
        assert doc["post"]["handle"] == "notes@bridge.example" and doc["post"]["title"] == "Hello"
        assert doc["post"]["id"] == f"{BASE}/users/notes/posts/{notes.post.id}"
        # Unknown, missing, too long, no URL at all, another blog's object id: refused with JSON.
        assert "error" in await comments(client, "https://blog.example/no-such-post/", 404)
        assert "error" in await comments(client, f"{BASE}/users/nobody/posts/{seeded.post.id}", 404)
        assert "error" in await comments(client, "http://[", 404)
        assert "url" in (await comments(client, "", 400))["error"]
        assert "error" in await comments(client, "https://blog.example/" + "a" * 2001, 400)
        resp = await client.get("/api/comments")
        assert resp.status == 400 and resp.headers["Access-Control-Allow-Origin"] == "*"
        # A gone post shows nothing.
        await BlogPost.filter(id=seeded.post.id).update(state=PostState.GONE, gone_at=utcnow())
        await comments(client, POST, 404)


async def test_a_post_without_interactions(write_config: Callable[..., Path]) -> None:
    async with bridge(write_config) as client:
        now = utcnow()
        await BlogPost.create(blog="blog", url=POST, data={}, sources={}, fingerprint="f", fetched_at=now, changed_at=now)
        doc = await comments(client, POST)
    assert doc["post"]["title"] is None
    assert doc["counts"] == dict.fromkeys(("replies", "likes", "boosts", "reactions", "quotes"), 0)
    assert doc["replies"] == doc["likes"] == doc["boosts"] == doc["reactions"] == doc["quotes"] == []


# -- the translator alone -----------------------------------------------------------------

def reply(row_id: int, parent: int | None, minute: int = 0) -> Shown:
    return Shown(row_id=row_id, kind="reply", object_id=f"https://s.example/{row_id}",
                 actor="https://s.example/users/a", published=datetime(2026, 1, 1, 0, minute, tzinfo=UTC),
                 parent_id=parent)


def depth(nodes: list[dict[str, Any]]) -> int:
    return 1 + max((depth(n["children"]) for n in nodes), default=0) if nodes else 0


def test_thread_order_loops_and_depth() -> None:
    # Children are listed oldest first, whatever order the rows come in.
    tree = thread([reply(3, 1, minute=5), reply(2, 1, minute=9), reply(1, None)])
    assert [n["id"] for n in tree[0]["children"]] == ["https://s.example/3", "https://s.example/2"]
    # A loop of parents never hangs nor loses a reply.
    tree = thread([reply(1, 2), reply(2, 1), reply(3, 1)])
    assert sorted(n["id"] for n in tree) == ["https://s.example/1", "https://s.example/2"]
    assert [n["id"] for n in tree[0]["children"]] == ["https://s.example/3"]
    # A chain of 200 stops nesting at MAX_DEPTH; the rest go on, in order, at the deepest level.
    tree = thread([reply(i, i - 1 if i > 1 else None, minute=i % 60) for i in range(1, 201)])
    assert depth(tree) == MAX_DEPTH + 1
    node = tree[0]
    for _ in range(MAX_DEPTH - 1):
        node = node["children"][0]
    assert len(node["children"]) == 200 - MAX_DEPTH


@pytest.mark.parametrize(("header", "expected"), [
    (None, False), ("", False), ('"abc"', True), ('W/"abc"', True), ('"x", "abc"', True), ("*", True),
    ('"abcd"', False), ("abc", False),
])
def test_if_none_match(header: str | None, expected: bool) -> None:
    assert not_modified(header, '"abc"') is expected


def test_permalink_variants() -> None:
    assert permalink_variants(" HTTPS://Blog.Example:443/a/#c ") == [
        "HTTPS://Blog.Example:443/a", "HTTPS://Blog.Example:443/a/", "HTTPS://Blog.Example:443/a/#c",
        "HTTPS://Blog.Example:443/a/#c/", "https://blog.example/a", "https://blog.example/a/"]
    assert permalink_variants("http://[") == ["http://[", "http://[/"]
