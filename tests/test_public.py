"""The public HTTP surface on the real app (issue 4): WebFinger, host-meta, NodeInfo, the
actor, its collections, each post and activity at its id, content negotiation.

The database is filled by polling the recorded WordPress blog (tests/blogserver.py), so
the objects are real posts; edge cases are recorded through record.record_post, the
same path a poll takes. Each rule Mastodon enforces silently has its own test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge import __version__
from bridge.app import make_app, new_http_session
from bridge.as2.posts import IMAGE_TYPES, VIDEO_TYPES
from bridge.as2.vocab import AS2_CONTENT_TYPE, LD_CONTENT_TYPE, PUBLIC
from bridge.blog.post import Media, Mention, Post, Profile
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.keys import INSTANCE_ACTOR
from bridge.models import ActorKey, BlogPost, Follower, FollowState
from bridge.public.routes import PAGE_SIZE
from bridge.publish.polling import poll_blog
from bridge.publish.record import mark_gone, record_post
from bridge.publish.reader import ReadResult

from .blogserver import WORDPRESS, BlogServer, paragraphs, published_posts

BLOG = "http://127.0.0.1:8765/"
BASE = "https://bridge.example"
ACTOR = f"{BASE}/users/blog"
SEED = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
AS2 = {"Accept": AS2_CONTENT_TYPE}

Client = TestClient  # type: ignore[type-arg]


@asynccontextmanager
async def served(write_config: Callable[..., Path], extra: str = "", *, theme: str | None = "twentytwentyone",
                 name: str = "bridge.toml") -> AsyncIterator[tuple[Client, Config]]:
    """The bridge's real app for a blog polled from the recorded WordPress (theme None: never polled)."""
    config = load_config(write_config(extra, blog_url=BLOG, name=name), env={})
    if theme is not None:
        server = await BlogServer.wordpress(theme).start()
        try:
            async with new_http_session(config) as session:
                report = await poll_blog(session, config.blogs[0])
            assert report.error is None
        finally:
            await server.stop()
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        yield client, config


async def get_json(client: Client, path: str, *, status: int = 200, accept: str = AS2_CONTENT_TYPE) -> Any:
    resp = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
    assert resp.status == status, await resp.text()
    return json.loads(await resp.text())


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def object_of(client: Client, permalink: str) -> dict[str, Any]:
    row = await BlogPost.get(url=permalink)
    return await get_json(client, f"/users/blog/posts/{row.id}")  # type: ignore[no-any-return]


def crafted(url: str, **fields: Any) -> ReadResult:
    """A post as the reader would return it, for cases the fixture blog does not have."""
    post = Post(url=url, published=datetime(2024, 5, 1, 12, 0, tzinfo=UTC), language="en", **fields)
    return ReadResult(post=post, profile=Profile(url=BLOG), url=url)


# -- WebFinger and host-meta ---------------------------------------------------------


async def test_webfinger_self_link_is_the_actor_id(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, theme=None) as (client, config):
        resp = await client.get("/.well-known/webfinger", params={"resource": "acct:blog@bridge.example"})
        assert resp.status == 200 and resp.content_type == "application/jrd+json"
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        jrd = await resp.json(content_type=None)
        actor = await get_json(client, "/users/blog")
    assert jrd["subject"] == "acct:blog@bridge.example"
    assert jrd["aliases"] == [ACTOR, BLOG]
    selves = [link for link in jrd["links"] if link["rel"] == "self"]
    assert [link["type"] for link in selves] == [
        "application/activity+json", 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"']
    assert all(link["href"] == actor["id"] == ACTOR for link in selves)
    rels = {link["rel"]: link for link in jrd["links"]}
    assert rels["http://webfinger.net/rel/profile-page"]["href"] == BLOG
    assert rels["http://ostatus.org/schema/1.0/subscribe"]["template"] == f"{BASE}/authorize_interaction?uri={{uri}}"
    # The handle the actor names leads back to the same subject (Mastodon's check_webfinger!).
    assert f"acct:{actor['preferredUsername']}@{urlsplit(actor['id']).netloc}" == jrd["subject"]


async def test_webfinger_answers_for_the_actor_url_and_the_blog_url(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, theme=None) as (client, _):
        for resource in (ACTOR, BLOG, "http://127.0.0.1:8765", "acct:Blog@Bridge.Example", "blog@bridge.example"):
            resp = await client.get("/.well-known/webfinger", params={"resource": resource})
            assert resp.status == 200, resource
            assert (await resp.json(content_type=None))["subject"] == "acct:blog@bridge.example"
        only_self = await client.get("/.well-known/webfinger", params={"resource": ACTOR, "rel": "self"})
        assert {link["rel"] for link in (await only_self.json(content_type=None))["links"]} == {"self"}


async def test_webfinger_rejects_bad_resources_with_a_reason_and_unknown_names_with_404(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, theme=None) as (client, _):
        cases = [
            ({}, 400, "resource: missing"),
            ({"resource": ""}, 400, "resource: missing"),
            ({"resource": "acct:blog"}, 400, "is not an acct:NAME@HOST"),
            ({"resource": "acct:blog@bridge.example/x"}, 400, "is not an acct:NAME@HOST"),
            ({"resource": "acct:nobody@bridge.example"}, 404, "no account nobody@bridge.example"),
            ({"resource": "acct:blog@elsewhere.example"}, 404, "no account"),
            ({"resource": f"{BASE}/users/nobody"}, 404, "no account"),
        ]
        for params, status, reason in cases:
            resp = await client.get("/.well-known/webfinger", params=params)
            assert resp.status == status, params
            assert reason in (await resp.json())["error"]


async def test_a_handle_on_the_blogs_own_domain_answers_with_the_same_subject(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, 'handle_domain = "blog.example"\n', theme=None) as (client, _):
        subjects = []
        for resource in ("acct:blog@blog.example", "acct:blog@bridge.example", ACTOR):
            resp = await client.get("/.well-known/webfinger", params={"resource": resource})
            jrd = await resp.json(content_type=None)
            subjects.append(jrd["subject"])
            assert [link["href"] for link in jrd["links"] if link["rel"] == "self"] == [ACTOR, ACTOR]
            assert "acct:blog@bridge.example" in jrd["aliases"]
        actor = await get_json(client, "/users/blog")
    assert subjects == ["acct:blog@blog.example"] * 3
    assert actor["webfinger"] == "blog@blog.example"  # FEP-2c59: the canonical handle


async def test_without_handle_domain_the_blogs_host_still_answers_with_the_bridge_handle(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, theme=None) as (client, _):
        resp = await client.get("/.well-known/webfinger", params={"resource": "acct:blog@127.0.0.1:8765"})
        assert (await resp.json(content_type=None))["subject"] == "acct:blog@bridge.example"


async def test_host_meta_as_xrd_and_as_json(write_config, database) -> None:  # type: ignore[no-untyped-def]
    template = f"{BASE}/.well-known/webfinger?resource={{uri}}"
    async with served(write_config, theme=None) as (client, _):
        xrd = await client.get("/.well-known/host-meta")
        assert xrd.content_type == "application/xrd+xml"
        assert f'<Link rel="lrdd" template="{template}"/>' in await xrd.text()
        for path, headers in (("/.well-known/host-meta", {"Accept": "application/json"}),
                              ("/.well-known/host-meta.json", {})):
            resp = await client.get(path, headers=headers)
            assert resp.content_type == "application/jrd+json"
            assert await resp.json(content_type=None) == {"links": [{"rel": "lrdd", "template": template}]}
        page = await client.get("/authorize_interaction", params={"uri": "https://m.example/@a"})
        assert page.status == 200 and 'href="https://m.example/@a"' in await page.text()


# -- NodeInfo and the instance actor --------------------------------------------------


async def test_nodeinfo_counts_blogs_and_live_posts(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        links = await get_json(client, "/.well-known/nodeinfo")
        rels = {link["rel"]: link["href"] for link in links["links"]}
        assert rels["http://nodeinfo.diaspora.software/ns/schema/2.1"] == f"{BASE}/nodeinfo/2.1"
        assert rels["https://www.w3.org/ns/activitystreams#Application"] == f"{BASE}/actor"
        resp = await client.get("/nodeinfo/2.1")
        assert resp.headers["Content-Type"] == 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
        info = await resp.json(content_type=None)
        await mark_gone("blog", SEED)
        after = await get_json(client, "/nodeinfo/2.1")
    assert info["version"] == "2.1"
    assert info["software"] == {"name": "blog-fediverse-bridge", "version": __version__}
    assert info["protocols"] == ["activitypub"] and info["openRegistrations"] is False
    assert info["usage"]["users"] == {"total": 1, "activeMonth": 0, "activeHalfyear": 0}  # posts from 2019
    assert info["usage"]["localPosts"] == len(published_posts()) == 7
    assert after["usage"]["localPosts"] == 6
    assert info["metadata"]["nodeName"] == "bridge.example"


async def test_the_instance_actor_is_an_application_with_its_own_key(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, theme=None) as (client, _):
        actor = await get_json(client, "/actor")
        jrd = await get_json(client, "/.well-known/webfinger?resource=acct:bridge.example@bridge.example",
                             accept="application/jrd+json")
        outbox = await get_json(client, path_of(actor["outbox"]))
    key = await ActorKey.get(actor=INSTANCE_ACTOR, active=True, algorithm="rsa")
    assert actor["type"] == "Application" and actor["id"] == f"{BASE}/actor"
    assert actor["publicKey"] == {"id": f"{BASE}/actor#main-key", "owner": f"{BASE}/actor", "publicKeyPem": key.public_pem}
    assert actor["inbox"] == f"{BASE}/inbox" and outbox["totalItems"] == 0
    assert [link["href"] for link in jrd["links"] if link["rel"] == "self"] == [f"{BASE}/actor"] * 2


# -- the actor -------------------------------------------------------------------------


async def test_actor_id_is_the_url_it_is_served_at(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, config):
        actor = await get_json(client, "/users/blog")
        lookups = {name: await get_json(client, path_of(actor[name])) for name in
                   ("outbox", "followers", "following", "featured")}
    assert actor["id"] == f"{config.server.base_url}/users/blog" == urls.actor_id(BASE, "blog")
    assert actor["type"] == "Person" and actor["preferredUsername"] == "blog"
    assert actor["name"] == "Maya Okonkwo"
    assert actor["summary"] == ("<p>Thrill-seeking binge-learner. Deep learning, certificates, and far too many "
                                "open browser tabs.</p>")
    assert actor["url"] == BLOG
    assert actor["inbox"] == f"{ACTOR}/inbox" and actor["outbox"] == f"{ACTOR}/outbox"
    assert actor["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    assert (actor["followers"], actor["following"], actor["featured"]) == (
        f"{ACTOR}/followers", f"{ACTOR}/following", f"{ACTOR}/featured")
    for name, collection in lookups.items():
        assert collection["id"] == actor[name]
    assert "https://w3id.org/security/v1" in actor["@context"]
    terms = actor["@context"][-1]
    assert {"toot", "featured", "discoverable", "indexable", "PropertyValue", "value", "attributionDomains",
            "alsoKnownAs", "manuallyApprovesFollowers"} <= set(terms)


async def test_actor_icon_and_image_are_image_objects(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, 'header = "https://cdn.example/header.jpg"\n') as (client, _):
        actor = await get_json(client, "/users/blog")
    assert actor["icon"] == {"type": "Image", "mediaType": "image/png",
                             "url": "http://127.0.0.1:8765/wp-content/uploads/2019/05/maya-avatar.png"}
    assert actor["image"] == {"type": "Image", "mediaType": "image/jpeg", "url": "https://cdn.example/header.jpg"}


async def test_actor_attachment_is_a_list_of_property_values(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        from bridge.models import BlogState

        state = await BlogState.get(name="blog")
        profile = dict(state.profile or {}, links=["https://github.com/maya", BLOG, "https://social.example/@maya"])
        await BlogState.filter(name="blog").update(profile=profile)
        actor = await get_json(client, "/users/blog")
    fields = actor["attachment"]
    assert isinstance(fields, list) and all(f["type"] == "PropertyValue" for f in fields)
    assert [f["name"] for f in fields] == ["Blog", "github.com", "social.example"]
    assert fields[0]["value"] == f'<a href="{BLOG}" rel="me nofollow noopener noreferrer">127.0.0.1:8765</a>'
    assert fields[1]["value"] == '<a href="https://github.com/maya" rel="me nofollow noopener noreferrer">github.com/maya</a>'


async def test_public_key_is_the_stored_active_key_under_the_signing_key_id(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, theme=None) as (client, _):
        first = await get_json(client, "/users/blog")
        old = await ActorKey.get(actor="blog", algorithm="rsa", active=True)
        await ActorKey.filter(id=old.id).update(active=False)
        new = await ActorKey.create(actor="blog", algorithm="rsa", private_pem="-", public_pem="NEW PEM")
        second = await get_json(client, "/users/blog")
    assert first["publicKey"] == {"id": urls.key_id(ACTOR), "owner": ACTOR, "publicKeyPem": old.public_pem}
    assert first["publicKey"]["id"] == f"{ACTOR}#main-key"
    assert second["publicKey"]["publicKeyPem"] == new.public_pem == "NEW PEM"
    assert first["published"] == second["published"]  # the account's birth: its first key


async def test_actor_settings_come_from_the_config(write_config, database) -> None:  # type: ignore[no-untyped-def]
    extra = """\
        actor_type = "Service"
        manually_approves_followers = true
        discoverable = false
        indexable = false
        also_known_as = ["https://old.example/users/maya"]
        display_name = "Maya's blog"
        bio = "Line one & <two>\\n\\nSecond paragraph"
    """
    async with served(write_config, extra, theme=None) as (client, _):
        actor = await get_json(client, "/users/blog")
    assert actor["type"] == "Service"
    assert actor["manuallyApprovesFollowers"] is True
    assert actor["discoverable"] is False and actor["indexable"] is False
    assert actor["alsoKnownAs"] == ["https://old.example/users/maya"]
    assert actor["attributionDomains"] == ["127.0.0.1"]
    assert actor["name"] == "Maya's blog"
    assert actor["summary"] == "<p>Line one &amp; &lt;two&gt;</p><p>Second paragraph</p>"


async def test_a_blog_never_polled_still_has_a_complete_actor(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, theme=None) as (client, _):
        actor = await get_json(client, "/users/blog")
    assert actor["name"] == "blog" and "icon" not in actor and "summary" not in actor
    assert actor["publicKey"]["owner"] == ACTOR and actor["inbox"] and actor["outbox"]
    assert actor["attachment"][0]["name"] == "Blog"
    assert actor["published"].endswith("Z")


# -- content negotiation --------------------------------------------------------------


async def test_content_negotiation_both_ways(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        row = await BlogPost.get(url=SEED)
        # A browser at the actor goes to its profile page (bridge/public/front.py), at a post to the blog's page.
        for path, page in (("/users/blog", f"{BASE}/@blog"), (f"/users/blog/posts/{row.id}", SEED),
                           (f"/users/blog/posts/{row.id}/create", SEED), ("/users/blog/outbox", BLOG)):
            for accept, expected in (
                (AS2_CONTENT_TYPE, AS2_CONTENT_TYPE),
                (LD_CONTENT_TYPE, LD_CONTENT_TYPE),
                ("application/activity+json, text/html;q=0.9", AS2_CONTENT_TYPE),
                ('text/html;q=0.5, application/ld+json; profile="https://www.w3.org/ns/activitystreams"', LD_CONTENT_TYPE),
                ("application/json", AS2_CONTENT_TYPE),
            ):
                resp = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
                assert resp.status == 200, (path, accept)
                assert resp.headers["Content-Type"] == expected, (path, accept)
                assert resp.headers["Vary"] == "Accept"
            for accept in (BROWSER, "text/html"):
                resp = await client.get(path, headers={"Accept": accept}, allow_redirects=False)
                assert resp.status in (302, 303), (path, accept)
                assert resp.headers["Location"] == page
                assert resp.headers["Vary"] == "Accept"


# -- posts --------------------------------------------------------------------------------


def _expected_type(post: dict[str, Any], style: str) -> str:
    if style != "auto":
        return style.title()
    length = len(post["title"]) + len(" ".join(post["content_paragraphs_text"]))
    return "Article" if post["title"] and length > 500 else "Note"


def _term_links() -> dict[str, str]:
    """What WordPress itself says each category's and tag's page is (its REST API)."""
    links = {}
    for name in ("rest-categories.json", "rest-tags.json"):
        for term in json.loads((WORDPRESS / "core-endpoints" / name).read_text()):
            links[term["name"]] = term["link"]
    return links


@pytest.mark.parametrize("theme", ["twentytwentyone", "twentytwentythree"])
async def test_every_fixture_post_is_served_as_the_blog_wrote_it(theme: str, write_config, database) -> None:  # type: ignore[no-untyped-def]
    terms = _term_links()
    config = load_config(write_config(blog_url=BLOG, name="poll.toml"), env={})
    server = await BlogServer.wordpress(theme).start()
    try:
        async with new_http_session(config) as session:
            await poll_blog(session, config.blogs[0])
    finally:
        await server.stop()
    for style in ("auto", "note", "article"):
        styled = load_config(write_config(f'post_style = "{style}"\n', blog_url=BLOG, name=f"{style}.toml"), env={})
        async with TestClient(TestServer(make_app(styled, workers=False))) as client:
            for truth in published_posts():
                obj = await object_of(client, truth["permalink"])
                where = (theme, style, truth["key"])
                assert obj["type"] == _expected_type(truth, style), where
                assert obj["url"] == truth["permalink"] and obj["attributedTo"] == ACTOR, where
                assert datetime.fromisoformat(obj["published"]) == datetime.fromisoformat(truth["published"]), where
                if truth["updated"] != truth["published"]:
                    assert datetime.fromisoformat(obj["updated"]) == datetime.fromisoformat(truth["updated"]), where
                else:
                    assert "updated" not in obj, where
                shown = paragraphs(obj["content"])
                for paragraph in truth["content_paragraphs_text"]:
                    assert paragraph in shown, where
                if obj["type"] == "Note":
                    assert "summary" not in obj and "name" not in obj, where
                    if truth["title"]:
                        assert shown[0] == truth["title"] and "<p><strong>" in obj["content"], where
                    assert f'<a href="{truth["permalink"]}">' in obj["content"], where  # the link back
                else:
                    assert obj.get("name") == (truth["title"] or None), where
                    assert "<a" not in obj["summary"] and "http" not in obj["summary"], where
                    assert shown[0] == truth["content_paragraphs_text"][0], where
                assert obj["contentMap"] == {"en": obj["content"]}, where
                names = [t for t in truth["categories"] if t != "Uncategorized"] + truth["tags"]
                hashtags = [t for t in obj["tag"] if t["type"] == "Hashtag"]
                assert [h["name"][1:].lower() for h in hashtags] == [n.replace(" ", "").lower() for n in names], where
                assert [h["href"] for h in hashtags] == [terms[n] for n in names], where
                for h in hashtags:
                    assert f'<a href="{h["href"]}" class="mention hashtag" rel="tag">#<span>{h["name"][1:]}</span></a>' in obj["content"]
                expected_media = [truth["image"]] if truth["image"] else []
                media, links = obj["attachment"][:-1], obj["attachment"][-1:]
                if obj["type"] == "Article":  # no link preview: an Article is its own card
                    media, links = obj["attachment"], []
                assert [(a["type"], a["url"], a.get("name"), a["mediaType"]) for a in media] == [
                    ("Image", m["full"], m["alt"], "image/jpeg") for m in expected_media], where
                assert [(a["type"], a["href"]) for a in links] == ([] if obj["type"] == "Article" else [
                    ("Link", obj["url"])]), where


async def test_objects_and_activities_share_the_actors_host(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        actor = await get_json(client, "/users/blog")
        host = urlsplit(actor["id"]).netloc
        page = await get_json(client, "/users/blog/outbox?page=true")
        for create in page["orderedItems"]:
            obj = create["object"]
            assert urlsplit(create["id"]).netloc == urlsplit(obj["id"]).netloc == host
            assert create["actor"] == obj["attributedTo"] == actor["id"]
            served_obj = await get_json(client, path_of(obj["id"]))
            assert served_obj["id"] == obj["id"] and urlsplit(served_obj["attributedTo"]).netloc == host
            assert (await get_json(client, path_of(create["id"])))["id"] == create["id"]


async def test_no_note_ever_carries_a_summary(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config, 'post_style = "note"\n') as (client, _):
        await record_post("blog", crafted(f"{BLOG}summary/", title="With a summary", content_html="<p>Body.</p>",
                                          summary="The author's own excerpt."))
        page = await get_json(client, "/users/blog/outbox?page=true")
        obj = await object_of(client, f"{BLOG}summary/")
    notes = [item["object"] for item in page["orderedItems"]]
    assert len(notes) == 8 and {n["type"] for n in notes} == {"Note"}
    assert not [n for n in notes if "summary" in n or "summaryMap" in n]
    assert "summary" not in obj and "The author's own excerpt." not in obj["content"]


async def test_at_most_four_attachments_of_supported_types(write_config, database) -> None:  # type: ignore[no-untyped-def]
    images = [Media(url=f"{BLOG}img/{n}.jpg", alt=f"photo {n}") for n in range(1, 4)]
    odd = [Media(url=f"{BLOG}img/diagram.svg", alt="svg"), Media(url=f"{BLOG}img/scan.tiff"),
           Media(url=f"{BLOG}img/no-extension"), Media(url="data:image/png;base64,AAAA")]
    read = crafted(f"{BLOG}gallery/", content_html="<p>Many pictures.</p>",
                   photos=(*images[:1], *odd, *images[1:], Media(url=f"{BLOG}img/4.webp", alt="four"),
                           Media(url=f"{BLOG}img/5.png", alt="five")),
                   videos=(Media(url=f"{BLOG}v.mp4"),))
    async with served(write_config, theme=None) as (client, _):
        await record_post("blog", read)
        obj = await object_of(client, f"{BLOG}gallery/")
    attached, link = obj["attachment"][:-1], obj["attachment"][-1]
    assert link["type"] == "Link" and link["href"] == f"{BLOG}gallery/"  # after the media: Mastodon keeps 4
    assert len(attached) == 4
    assert [a["url"].rsplit("/", 1)[-1] for a in attached] == ["1.jpg", "2.jpg", "3.jpg", "4.webp"]
    assert all(a["mediaType"] in IMAGE_TYPES | VIDEO_TYPES for a in attached)
    assert [a["name"] for a in attached] == ["photo 1", "photo 2", "photo 3", "four"]


async def test_content_is_sanitised(write_config, database) -> None:  # type: ignore[no-untyped-def]
    dirty = ('<p onclick="steal()" style="color:red">Hello <script>alert(1)</script><b>world</b></p>'
             '<style>p{display:none}</style><iframe src="https://evil.example/"></iframe>'
             '<p><a href="javascript:alert(2)">js</a> <a href="data:text/html,boom">data</a> '
             '<img src="x" onerror="alert(3)"> <a href="https://ok.example/" class="u-url evil" '
             'onmouseover="x()">ok</a></p><object data="x.swf"></object><form><input></form>')
    async with served(write_config, theme=None) as (client, _):
        await record_post("blog", crafted(f"{BLOG}dirty/", content_html=dirty))
        obj = await object_of(client, f"{BLOG}dirty/")
    content = obj["content"]
    for bad in ("<script", "alert(", "<style", "display:none", "<iframe", "evil.example", "onclick", "onerror",
                "onmouseover", "javascript:", "data:", "<object", "<form", "<input", "style=", "<img", "evil\""):
        assert bad not in content, bad
    assert "<b>world</b>" in content and '<a href="https://ok.example/" class="u-url">ok</a>' in content
    assert obj["contentMap"]["en"] == content


async def test_a_gone_post_answers_410_with_a_tombstone(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        row = await BlogPost.get(url=SEED)
        object_id = urls.post_object_id(ACTOR, row.id)
        assert (await client.get(f"/users/blog/posts/{row.id}/delete", headers=AS2)).status == 404
        await mark_gone("blog", SEED)
        tomb = await get_json(client, f"/users/blog/posts/{row.id}", status=410)
        browser = await client.get(f"/users/blog/posts/{row.id}", headers={"Accept": BROWSER}, allow_redirects=False)
        delete = await get_json(client, f"/users/blog/posts/{row.id}/delete")
        create = await client.get(f"/users/blog/posts/{row.id}/create", headers=AS2)
        lookup = await client.get("/users/blog/posts", params={"url": SEED}, headers=AS2)
        outbox = await get_json(client, "/users/blog/outbox")
    assert tomb["type"] == "Tombstone" and tomb["id"] == object_id and tomb["formerType"] == "Article"
    assert tomb["deleted"].endswith("Z")
    assert browser.status == 410
    assert delete["id"] == urls.activity_id(object_id, "delete") and delete["type"] == "Delete"
    assert delete["actor"] == ACTOR and delete["object"]["type"] == "Tombstone" and delete["object"]["id"] == object_id
    assert delete["to"] == [PUBLIC]
    assert create.status == 410 and lookup.status == 410
    assert outbox["totalItems"] == 6


async def test_each_activity_id_is_dereferenceable_and_updates_move_forward(write_config, database) -> None:  # type: ignore[no-untyped-def]
    url = f"{BLOG}edited/"
    async with served(write_config, theme=None) as (client, _):
        await record_post("blog", crafted(url, title="Before", content_html="<p>First words.</p>"))
        row = await BlogPost.get(url=url)
        object_id = urls.post_object_id(ACTOR, row.id)
        create = await get_json(client, path_of(urls.activity_id(object_id, "create")))
        edited_at = datetime.now(UTC) + timedelta(seconds=5)
        await record_post("blog", crafted(url, title="After", content_html="<p>Second words.</p>"),
                          clock=lambda: edited_at)
        row = await BlogPost.get(url=url)
        version = row.fingerprint[:12]
        update = await get_json(client, path_of(urls.activity_id(object_id, "update", version)))
        obj = await get_json(client, path_of(object_id))
    assert create["id"] == f"{object_id}/create" and create["type"] == "Create"
    assert create["object"]["id"] == object_id and "updated" not in create["object"]
    assert update["id"] == f"{object_id}/update/{version}" and update["type"] == "Update"
    assert update["object"]["id"] == object_id and "After" in update["object"]["content"]
    assert datetime.fromisoformat(update["object"]["updated"]) > datetime.fromisoformat(create["object"]["published"])
    assert update["published"] == update["object"]["updated"] == obj["updated"]


async def test_a_post_is_found_by_its_permalink(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        row = await BlogPost.get(url=SEED)
        found = await get_json(client, f"/users/blog/posts?url={quote(SEED, safe='')}")
        assert urls.post_lookup(ACTOR, SEED) == f"{ACTOR}/posts?url={quote(SEED, safe='')}"
        missing = await client.get("/users/blog/posts", params={"url": f"{BLOG}nope/"}, headers=AS2)
        bad = await client.get("/users/blog/posts", headers=AS2)
    assert found["id"] == urls.post_object_id(ACTOR, row.id) and found["url"] == SEED
    assert missing.status == 404 and bad.status == 400


async def test_replies_thread_only_to_fediverse_posts(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        await record_post("blog", crafted(f"{BLOG}to-mastodon/", content_html="<p>Yes!</p>",
                                          in_reply_to=("https://mastodon.example/@alice/1234567",),
                                          mentions=(Mention(url="https://mastodon.example/@alice", name="@alice"),)))
        await record_post("blog", crafted(f"{BLOG}to-self/", content_html="<p>More.</p>", in_reply_to=(SEED,)))
        to_web = await object_of(client, "http://127.0.0.1:8765/2019/07/12/re-are-mooc-certificates-worth-anything/")
        to_mastodon = await object_of(client, f"{BLOG}to-mastodon/")
        to_self = await object_of(client, f"{BLOG}to-self/")
        seed = await BlogPost.get(url=SEED)
    # A reply to a web page (not a fediverse post) would be hidden from home timelines.
    assert "inReplyTo" not in to_web
    assert to_mastodon["inReplyTo"] == "https://mastodon.example/@alice/1234567"
    assert {"type": "Mention", "href": "https://mastodon.example/@alice", "name": "@alice@mastodon.example"} in to_mastodon["tag"]
    assert to_mastodon["cc"] == [f"{ACTOR}/followers", "https://mastodon.example/@alice"]
    assert to_self["inReplyTo"] == urls.post_object_id(ACTOR, seed.id)


# -- collections ------------------------------------------------------------------------


async def test_outbox_pages_are_newest_first_and_complete(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async with served(write_config) as (client, _):
        same = datetime(2024, 1, 1, tzinfo=UTC)
        for n in range(PAGE_SIZE + 5):  # more than a page; five share one date (the id breaks the tie)
            published = same if n < 5 else same + timedelta(days=n)
            read = crafted(f"{BLOG}many/{n}/", content_html=f"<p>Post {n}</p>")
            await record_post("blog", replace(read, post=replace(read.post, published=published)))
        collection = await get_json(client, "/users/blog/outbox")
        seen: list[dict[str, Any]] = []
        pages = 0
        link = collection["first"]
        while link:
            page = await get_json(client, path_of(link))
            assert page["type"] == "OrderedCollectionPage" and page["partOf"] == collection["id"]
            assert len(page["orderedItems"]) <= PAGE_SIZE
            if seen:
                assert "prev" in page
            seen.extend(page["orderedItems"])
            link = page.get("next")
            pages += 1
        last = await get_json(client, path_of(collection["last"]))
        back = await get_json(client, path_of(page["prev"]))
        backwards: list[dict[str, Any]] = []  # from the oldest page, through `prev`, to the newest
        link = collection["last"]
        while link:
            page = await get_json(client, path_of(link))
            backwards[:0] = page["orderedItems"]
            link = page.get("prev")
    total = PAGE_SIZE + 5 + 7
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == total
    assert pages == 2 and len(seen) == total
    assert {item["type"] for item in seen} == {"Create"}
    ids = [item["object"]["id"] for item in seen]
    assert len(set(ids)) == total
    keys = [(item["object"]["published"], int(item["object"]["id"].rsplit("/", 1)[-1])) for item in seen]
    assert keys == sorted(keys, reverse=True)
    assert [i["object"]["id"] for i in last["orderedItems"]] == ids[-PAGE_SIZE:]
    assert [i["object"]["id"] for i in back["orderedItems"]] == ids[:PAGE_SIZE]
    assert [i["object"]["id"] for i in backwards] == ids


async def test_followers_are_counted_and_listed_or_hidden(write_config, database) -> None:  # type: ignore[no-untyped-def]
    async def follow(n: int, state: FollowState) -> None:
        await Follower.create(blog="blog", actor_uri=f"https://m.example/users/u{n}", inbox=f"https://m.example/users/u{n}/inbox",
                              state=state)

    async with served(write_config, theme=None) as (client, _):
        for n in range(PAGE_SIZE + 2):
            await follow(n, FollowState.ACCEPTED)
        await follow(99, FollowState.PENDING)
        followers = await get_json(client, "/users/blog/followers")
        first = await get_json(client, path_of(followers["first"]))
        second = await get_json(client, path_of(first["next"]))
        following = await get_json(client, "/users/blog/following")
    assert followers["totalItems"] == PAGE_SIZE + 2
    listed = first["orderedItems"] + second["orderedItems"]
    assert sorted(listed) == sorted(f"https://m.example/users/u{n}" for n in range(PAGE_SIZE + 2))
    assert "https://m.example/users/u99" not in listed  # pending: not a follower yet
    assert following["totalItems"] == 0 and "first" in following

    async with served(write_config, "show_followers = false\n", theme=None, name="hidden.toml") as (client, _):
        hidden = await get_json(client, "/users/blog/followers")
        page = await client.get("/users/blog/followers?page=true", headers=AS2)
        hidden_following = await get_json(client, "/users/blog/following")
    assert hidden["totalItems"] == PAGE_SIZE + 2 and "first" not in hidden  # Mastodon shows "hidden"
    assert page.status == 403
    assert "first" not in hidden_following


async def test_featured_posts_come_from_the_config(write_config, database) -> None:  # type: ignore[no-untyped-def]
    image = "http://127.0.0.1:8765/2019/06/28/a-wall-of-certificates/"
    extra = f'featured = ["{image}", "{SEED.rstrip("/")}", "{BLOG}never-polled/"]\n'
    async with served(write_config, extra) as (client, _):
        featured = await get_json(client, "/users/blog/featured")
    assert featured["type"] == "OrderedCollection" and featured["totalItems"] == 2
    assert [item["url"] for item in featured["orderedItems"]] == [image, SEED]
    assert [item["type"] for item in featured["orderedItems"]] == ["Note", "Article"]
    assert all("@context" not in item for item in featured["orderedItems"])
