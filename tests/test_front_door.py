"""The front door for people (issue 21): `/`, each blog's profile page `/@NAME` (where a browser
at the actor is sent), and `/interact`, the follow (or reply) that works from any server.

The readers' servers are local aiohttp servers (tests/fedi.py `Peer`) that answer WebFinger
as Mastodon, or with FEP-3b86 Activity Intents, or badly. The browser test is
tests/test_front_door_browser.py; the door table of `/interact` is tests/hostile/test_doors_front.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.as2.vocab import AS2_CONTENT_TYPE
from bridge.blog.post import Media, Profile, profile_to_dict
from bridge.config import Config, SecurityConfig, load_config
from bridge.core import urls
from bridge.core.clock import utcnow
from bridge.models import BlogPost, BlogState, Follower, FollowState, PostState
from bridge.public.intents import (
    CREATE_REL,
    FOLLOW,
    FOLLOW_REL,
    OBJECT,
    OBJECT_REL,
    interaction_url,
)
from bridge.public.webfinger import SUBSCRIBE_REL

from .fedi import Peer

BASE = "https://bridge.example"
ACTOR = f"{BASE}/users/blog"
BLOG = "http://127.0.0.1:9/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"

Client = TestClient  # type: ignore[type-arg]
pytestmark = pytest.mark.usefixtures("database")


@asynccontextmanager
async def served(write_config: Callable[..., Path], extra: str = "", *, private: bool = True,
                 **kwargs: Any) -> AsyncIterator[tuple[Client, Config]]:
    """The bridge's real app; `private=False`: the production rule, no private addresses."""
    config = load_config(write_config(extra, **kwargs), env={})
    if not private:
        config = replace(config, security=SecurityConfig(allow_private_addresses=False))
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        yield client, config


async def a_post(n: int, title: str | None, *, hours_ago: int, state: PostState = PostState.LIVE,
                 content: str | None = None, blog: str = "blog") -> BlogPost:
    now = utcnow()
    return await BlogPost.create(blog=blog, url=f"{BLOG}{n}/", state=state, sources={}, fingerprint="f" * 64,
                                 data={"title": title, "content_html": content}, fetched_at=now, changed_at=now,
                                 published=now - timedelta(hours=hours_ago))


async def a_follower(n: int, state: FollowState = FollowState.ACCEPTED, blog: str = "blog") -> None:
    actor = f"https://social.example/users/f{n}"
    await Follower.create(blog=blog, actor_uri=actor, inbox=f"{actor}/inbox", state=state)


async def page(client: Client, path: str, status: int = 200, accept: str = BROWSER) -> str:
    resp = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "text/html"
    return await resp.text()


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# -- the front door and the profile page ------------------------------------------------------


async def test_the_front_door_shows_the_blog_its_handle_followers_and_latest_posts(write_config) -> None:  # type: ignore[no-untyped-def]
    extra = ('display_name = "Ada <b>Lovelace</b>"\nbio = "Notes on engines.\\n<script>alert(1)</script>"\n'
             'avatar = "https://blog.example/ada.png"\n')
    async with served(write_config, extra) as (client, _):
        await a_post(1, "Older post", hours_ago=48)
        await a_post(2, "Newest post", hours_ago=1)
        await a_post(3, None, hours_ago=5, content="<p>An untitled <em>note</em> with words</p>")
        await a_post(4, "Deleted post", hours_ago=2, state=PostState.GONE)
        for n in (1, 2):
            await a_follower(n)
        await a_follower(3, FollowState.PENDING)
        for path in ("/", "/@blog"):
            resp = await client.get(path, headers={"Accept": BROWSER})
            html = await resp.text()
            assert resp.status == 200 and resp.content_type == "text/html"
            assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html and "<b>Lovelace" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
            assert '<img class="avatar" src="https://blog.example/ada.png"' in html
            assert '<code class="handle">@blog@bridge.example</code>' in html
            assert 'data-copy="@blog@bridge.example"' in html
            assert "2 followers" in words(html)
            links = re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', html)
            assert links == [(f"{BLOG}2/", "Newest post"), (f"{BLOG}3/", "An untitled note with words"),
                             (f"{BLOG}1/", "Older post")]
            assert "Deleted post" not in html
            # The follow form: a plain GET to /interact with our actor's id.
            assert f'action="{BASE}/interact"' in html and f'name="uri" value="{ACTOR}"' in html
            assert 'name="account"' in html
            # Every script and style carries this response's nonce; nothing from elsewhere.
            csp = resp.headers["Content-Security-Policy"]
            nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
            assert "default-src 'none'" in csp
            assert re.findall(r"<script[^>]*>", html) == [f'<script nonce="{nonce}">']
            assert re.findall(r"<style[^>]*>", html) == [f'<style nonce="{nonce}">']
            assert not re.search(r'(src|href)="//|<link rel="stylesheet"', html)


async def test_one_follower_and_no_posts_yet(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        await a_follower(1)
        text = words(await page(client, "/@blog"))
    assert "1 follower " in text and "has not read a post" in text
    assert "blog" in text  # the name falls back to the account's


async def test_the_avatar_is_shown_only_when_it_is_an_http_url(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        profile = Profile(url=BLOG, name="Stored Name", icon=Media(url="javascript:alert(1)"), summary="Bio")
        await BlogState.create(name="blog", profile=profile_to_dict(profile))
        html = await page(client, "/")
    assert "Stored Name" in html and "javascript:" not in html and 'class="avatar"' not in html


async def test_the_handle_is_the_canonical_one(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, 'handle_domain = "blog.example"\n') as (client, _):
        html = await page(client, "/")
    assert '<code class="handle">@blog@blog.example</code>' in html


async def test_several_blogs_are_listed_each_linking_to_its_profile(write_config) -> None:  # type: ignore[no-untyped-def]
    second = '\n[[blogs]]\nname = "second"\nurl = "http://127.0.0.1:9/second/"\ndisplay_name = "Second Blog"\n'
    async with served(write_config, second) as (client, _):
        await a_follower(1, blog="second")
        html = await page(client, "/")
        assert f'href="{BASE}/@blog"' in html and f'href="{BASE}/@second"' in html
        assert "@second@bridge.example" in html and "Second Blog" in html
        assert "1 follower" in words(html)
        profile = await page(client, "/@second")
        assert f'name="uri" value="{BASE}/users/second"' in profile and f'href="{BASE}/"' in profile


async def test_an_unknown_profile_is_404(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        html = await page(client, "/@nobody", 404)
    assert "no such account" in html


async def test_a_not_discoverable_blog_asks_search_engines_to_stay_away(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, "discoverable = false\n") as (client, _):
        assert '<meta name="robots" content="noindex">' in await page(client, "/")


# -- the actor id: a browser goes to the profile, ActivityPub clients get the actor ---------


async def test_a_browser_at_the_actor_goes_to_the_profile_and_an_as2_client_gets_json(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        row = await a_post(1, "A post", hours_ago=1)
        for accept in (BROWSER, "text/html"):
            resp = await client.get("/users/blog", headers={"Accept": accept}, allow_redirects=False)
            assert resp.status == 302 and resp.headers["Location"] == f"{BASE}/@blog"
            assert resp.headers["Vary"] == "Accept"
        for accept in (AS2_CONTENT_TYPE, "application/activity+json, text/html;q=0.9", "*/*", ""):
            resp = await client.get("/users/blog", headers={"Accept": accept}, allow_redirects=False)
            assert resp.status == 200, accept
            assert (await resp.json(content_type=None))["id"] == ACTOR
        # A post's object still sends a browser to the blog's permalink.
        resp = await client.get(f"/users/blog/posts/{row.id}", headers={"Accept": BROWSER}, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == row.url
        # The profile page sends an ActivityPub client (a URL pasted into a search) to the actor.
        resp = await client.get("/@blog", headers={"Accept": AS2_CONTENT_TYPE}, allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == ACTOR
        assert (await client.get("/@blog", headers={"Accept": "*/*"})).content_type == "text/html"


# -- /interact: the reader's server and its templates ---------------------------------------


Links = Callable[[str, Peer], list[dict[str, str]] | None]


async def social(links: Links | None, *, nodeinfo: bool = False) -> Peer:
    """A reader's server. `links(resource, peer)`: the JRD's links, or None for a 404."""
    peer = await Peer.start()

    async def webfinger(request: web.Request) -> web.StreamResponse:
        resource = request.query.get("resource", "")
        found = links(resource, peer) if links else None
        if found is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"subject": resource, "links": found}, content_type="application/jrd+json")

    peer.routes["/.well-known/webfinger"] = webfinger
    if nodeinfo:
        peer.serve("/.well-known/nodeinfo", {"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                                                         "href": peer.url("/nodeinfo/2.1")}]},
                   content_type="application/json")
    return peer


def mastodon(resource: str, peer: Peer) -> list[dict[str, str]] | None:
    """Mastodon's JRDs: a user's with its subscribe template; the instance actor's without one
    (app/serializers/webfinger_serializer.rb)."""
    host = urlsplit(peer.base).netloc
    if resource == f"acct:{host.split(':')[0]}@{host}":
        return [{"rel": "self", "type": "application/activity+json", "href": peer.url("/actor")}]
    if resource == f"acct:reader@{host}":
        return [{"rel": "self", "type": "application/activity+json", "href": peer.url("/users/reader")},
                {"rel": SUBSCRIBE_REL, "template": peer.url("/authorize_interaction?uri={uri}")}]
    return None


def interact(uri: str, account: str | None) -> str:
    query = {"uri": uri} | ({"account": account} if account is not None else {})
    return f"/interact?{urlencode(query)}"


async def redirected(client: Client, uri: str, account: str) -> str:
    resp = await client.get(interact(uri, account), allow_redirects=False)
    assert resp.status == 302, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    return resp.headers["Location"]


async def refused(client: Client, uri: str, account: str | None, status: int) -> str:
    resp = await client.get(interact(uri, account), allow_redirects=False)
    html = await resp.text()
    assert resp.status == status, html
    assert resp.content_type == "text/html"
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', html)
    assert found, html
    return found.group(1)


async def test_a_handle_is_sent_to_its_servers_subscribe_template_with_our_uri(write_config) -> None:  # type: ignore[no-untyped-def]
    peer = await social(mastodon)
    host = urlsplit(peer.base).netloc
    expected = peer.url(f"/authorize_interaction?uri={quote(ACTOR, safe='')}")
    try:
        async with served(write_config) as (client, _):
            for account in (f"@reader@{host}", f"reader@{host}", f"acct:reader@{host}", f"  @reader@{host} ",
                            f"{peer.base}/@reader"):
                location = await redirected(client, ACTOR, account)
                assert location == expected, account
                assert parse_qs(urlsplit(location).query)["uri"] == [ACTOR]
            row = await a_post(1, "A post", hours_ago=1)
            object_id = urls.post_object_id(ACTOR, row.id)
            assert await redirected(client, object_id, f"@reader@{host}") == \
                peer.url(f"/authorize_interaction?uri={quote(object_id, safe='')}")
    finally:
        await peer.close()
    # Asked once: the templates are kept per host.
    asked = [s for s in peer.seen if "webfinger" in s.url]
    assert len(asked) == 1 and parse_qs(urlsplit(asked[0].url).query)["resource"] == [f"acct:reader@{host}"]


async def test_fep_3b86_intents_are_preferred_and_filled(write_config) -> None:  # type: ignore[no-untyped-def]
    links: list[dict[str, str]] = []
    peer = await social(lambda _resource, _peer: links)
    host = urlsplit(peer.base).netloc
    try:
        async with served(write_config) as (client, _):
            row = await a_post(1, "A post", hours_ago=1)
            post = urls.post_object_id(ACTOR, row.id)
            links[:] = [
                {"rel": SUBSCRIBE_REL, "template": peer.url("/authorize_interaction?uri={uri}")},
                {"rel": FOLLOW_REL, "template": peer.url("/intents/follow?id={object}&then={on-success}")},
                {"rel": OBJECT_REL, "template": peer.url("/intents/object?id={object}")},
                {"rel": CREATE_REL, "template": peer.url("/share?text={content}")},  # no inReplyTo: not for us
            ]
            assert await redirected(client, ACTOR, f"reader@{host}") == \
                peer.url(f"/intents/follow?id={quote(ACTOR, safe='')}&then=")
            assert await redirected(client, post, f"other@{host}") == \
                peer.url(f"/intents/object?id={quote(post, safe='')}")
    finally:
        await peer.close()
    # A Create intent answers a post when there is no Object intent; one without inReplyTo is skipped.
    with_create = {CREATE_REL: "https://s.example/share?inReplyTo={inReplyTo}&text={content}",
                   SUBSCRIBE_REL: "https://s.example/authorize_interaction?uri={uri}"}
    assert interaction_url(with_create, OBJECT, "https://bridge.example/users/blog/posts/1") == \
        (CREATE_REL, "https://s.example/share?inReplyTo=https%3A%2F%2Fbridge.example%2Fusers%2Fblog%2Fposts%2F1&text=")
    assert interaction_url({CREATE_REL: "https://s.example/share?text={content}"}, OBJECT, "https://b.example/p") is None
    assert interaction_url(with_create, FOLLOW, ACTOR) == \
        (SUBSCRIBE_REL, f"https://s.example/authorize_interaction?uri={quote(ACTOR, safe='')}")
    assert interaction_url({OBJECT_REL: "https://s.example/open?id={object}"}, FOLLOW, ACTOR) == \
        (OBJECT_REL, f"https://s.example/open?id={quote(ACTOR, safe='')}")


async def test_a_server_alone_uses_its_instance_account_or_mastodons_page(write_config) -> None:  # type: ignore[no-untyped-def]
    mastodon_like = await social(mastodon)
    only_nodeinfo = await social(None, nodeinfo=True)
    with_template = await social(lambda _r, _p: [{"rel": SUBSCRIBE_REL, "template": "https://web.example/follow?u={uri}"}])
    nothing = await social(None)
    instance = f"acct:127.0.0.1@{urlsplit(mastodon_like.base).netloc}"
    try:
        async with served(write_config) as (client, _):
            encoded = quote(ACTOR, safe="")
            for peer in (mastodon_like, only_nodeinfo):
                host = urlsplit(peer.base).netloc
                for account in (host, peer.base, peer.base + "/", f"http://{host}"):
                    assert await redirected(client, ACTOR, account) == peer.url(f"/authorize_interaction?uri={encoded}")
            host = urlsplit(with_template.base).netloc
            assert await redirected(client, ACTOR, host) == f"https://web.example/follow?u={encoded}"
            host = urlsplit(nothing.base).netloc
            assert "does not answer as a fediverse server" in await refused(client, ACTOR, host, 502)
    finally:
        for peer in (mastodon_like, only_nodeinfo, with_template, nothing):
            await peer.close()
    assert [parse_qs(urlsplit(s.url).query)["resource"] for s in mastodon_like.seen if "webfinger" in s.url] == \
        [[instance]]  # asked once, then kept


async def test_without_an_account_the_page_asks_for_one(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, 'display_name = "Ada"\n') as (client, _):
        html = await page(client, interact(ACTOR, None))
        assert "Follow" in words(html) and "Ada" in html and "@blog@bridge.example" in html
        assert f'name="uri" value="{ACTOR}"' in html and 'class="error"' not in html
        row = await a_post(1, "A <post>", hours_ago=1)
        html = await page(client, interact(urls.post_object_id(ACTOR, row.id), None))
        assert "Answer" in words(html) and "A &lt;post&gt;" in html and f'href="{row.url}"' in html
        assert "type your handle" in await refused(client, ACTOR, "   ", 400)


@pytest.mark.parametrize(("account", "reason"), [
    ("not a handle", "that is not a handle"),
    ("@@", "is not a handle"),
    ("me@", "is not a handle"),
    ("javascript:alert(1)", "is not a server name"),
    ("ftp://their.server", "only an http(s) address"),
    ("https://their.server/some/page", "without a path"),
    ("https://user@their.server", "only an http(s) address"),
    ("their.server/x", "is not a server name"),
    ("me@their.server:99999", "is not a server name"),
    ("me@-bad-.example", "is not a server name"),
    ("a" * 400, "that is not a handle"),
])
async def test_a_bad_account_is_refused_with_a_reason(write_config, account: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        text = await refused(client, ACTOR, account, 400)
        html = await (await client.get(interact(ACTOR, account))).text()
    assert reason in text.replace("&#39;", "'")
    assert 'name="account"' in html  # the form again


async def test_the_uri_must_be_one_of_ours(write_config) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        gone = await a_post(1, "Gone", hours_ago=1, state=PostState.GONE)
        for uri in ("https://evil.example/users/blog", f"{BASE}/users/nobody", f"{BASE}/users/blog/posts/99",
                    urls.post_object_id(ACTOR, gone.id), "javascript:alert(1)", f"{BASE}/@blog"):
            assert "not an account or a post of this bridge" in await refused(client, uri, "me@x.example", 400)
        resp = await client.get("/interact")
        assert resp.status == 400 and "uri: missing" in await resp.text()


async def test_an_unreachable_server_or_an_unknown_account_says_so(write_config, free_port: int) -> None:  # type: ignore[no-untyped-def]
    peer = await social(None)
    host = urlsplit(peer.base).netloc
    try:
        async with served(write_config) as (client, _):
            assert "could not be reached" in await refused(client, ACTOR, f"me@127.0.0.1:{free_port}", 502)
            assert f"knows no account @nobody@{host}" in await refused(client, ACTOR, f"nobody@{host}", 400)
            peer.routes["/.well-known/webfinger"] = lambda request: _status(500)
            assert "answered HTTP 500" in await refused(client, ACTOR, f"someone@{host}", 502)
    finally:
        await peer.close()


async def _status(status: int) -> web.Response:
    return web.Response(status=status, text="no")


@pytest.mark.parametrize("template", [
    "https://s.example/authorize_interaction",  # no {uri}: the reader would land on a page about nothing
    "https://s.example/authorize_interaction?uri={url}",
    "javascript:alert('{uri}')",
    "data:text/html,<script>alert(1)</script>{uri}",
    "//s.example/authorize_interaction?uri={uri}",  # relative
    "/authorize_interaction?uri={uri}",
    "https://s.example/a\r\nSet-Cookie: x=1?uri={uri}",
    "https://s.example\\@evil.example/?uri={uri}",
    "https:///?uri={uri}",
])
async def test_a_template_that_would_not_carry_our_uri_or_not_to_a_web_page_is_refused(write_config, template: str) -> None:  # type: ignore[no-untyped-def]
    peer = await social(lambda _r, _p: [{"rel": SUBSCRIBE_REL, "template": template},
                                     {"rel": FOLLOW_REL, "template": template}])
    try:
        async with served(write_config) as (client, _):
            host = urlsplit(peer.base).netloc
            assert "gives no page to follow from elsewhere" in await refused(client, ACTOR, f"me@{host}", 502)
    finally:
        await peer.close()


async def test_private_addresses_are_refused_unless_the_config_allows_them(write_config) -> None:  # type: ignore[no-untyped-def]
    peer = await social(lambda _r, _p: [{"rel": SUBSCRIBE_REL, "template": "https://s.example/a?uri={uri}"}])
    host = urlsplit(peer.base).netloc
    try:
        async with served(write_config, private=False) as (client, _):
            for account in (f"me@{host}", host, f"me@localhost:{peer.server.port}", "me@[::1]"):
                assert "is not a public server" in await refused(client, ACTOR, account, 400)
        assert peer.seen == []
        async with served(write_config, name="allowed.toml") as (client, _):
            assert await redirected(client, ACTOR, f"me@{host}") == f"https://s.example/a?uri={quote(ACTOR, safe='')}"
    finally:
        await peer.close()
