"""The interaction flow (bridge/inbox/interactions.py) run as the `inbox.process` job does,
on stored inbox activities, and its moderation: blocks (202 and dropped at the inbox),
hold → approve / reject, rate limits, followers-only and direct replies kept private,
Update / Delete / Undo, the page at /interactions/ID (410 once withdrawn) and the
operator's API (bridge/ops/interactions.py). Remote actors are in the cache, so no
network is needed here (the end-to-end test covers it: tests/test_interactions_e2e.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mf2py
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge import db
from bridge.app import BUILTIN_HANDLERS, make_app, new_http_session, prepare_storage
from bridge.appkeys import CONTEXT
from bridge.config import Config, ConfigError, load_config
from bridge.core.clock import utcnow
from bridge.inbox.moderation import BlockList
from bridge.jobs.kinds import ProcessInbox, SendWebmention
from bridge.jobs.store import JobContext, enqueue
from bridge.models import (
    BlogPost,
    InboxActivity,
    Interaction,
    InteractionState,
    Job,
    RemoteActor,
    Visibility,
    WebmentionState,
)
from bridge.ops import interactions as admin

from .fedi import Peer, keypair

BASE = "https://bridge.example"
TARGET = "http://127.0.0.1:9/2026/11/a-post/"
ALICE = "https://social.example/users/alice"
MALLORY = "https://spam.example/users/mallory"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@asynccontextmanager
async def world(write_config: Callable[..., Path], extra: str = "") -> AsyncIterator[Config]:
    config = load_config(write_config(extra), env={})
    await prepare_storage(config)  # the schema, and the keys signed fetches use
    try:
        now = utcnow()
        await BlogPost.create(blog="blog", url=TARGET, data={"title": "A post"}, fingerprint="f", fetched_at=now,
                              changed_at=now, published=now)
        for uri, host, name in ((ALICE, "social.example", "Alice"), (MALLORY, "spam.example", "Mallory")):
            user = uri.rsplit("/", 1)[-1]
            await RemoteActor.create(uri=uri, host=host, name=name, icon_url=f"https://{host}/{user}.png",
                                     profile_url=f"https://{host}/@{user}", handle=f"{user}@{host}",
                                     inbox=f"{uri}/inbox", fetched_at=now)
        yield config
    finally:
        await db.close_db()


async def arrive(config: Config, activity: dict[str, Any]) -> None:
    """What the inbox stores after a verified signature, then its job run."""
    actor = activity["actor"]
    row = await InboxActivity.create(activity_id=activity["id"], actor=actor, type=activity["type"],
                                     key_id=f"{actor}#main-key", signature_scheme="cavage", body=activity)
    job = await enqueue(ProcessInbox(row.id, row.activity_id, row.type))
    async with new_http_session(config) as http:
        await BUILTIN_HANDLERS[job.kind](job, JobContext(config=config, http=http))


def note(n: int, actor: str = ALICE, in_reply_to: str = f"{BASE}/users/blog/posts/1", **extra: Any) -> dict[str, Any]:
    return {"id": f"{actor}/statuses/{n}", "type": "Note", "attributedTo": actor, "inReplyTo": in_reply_to,
            "content": f"<p>reply {n}</p>", "to": [PUBLIC], "cc": [f"{actor}/followers"], **extra}


def create(obj: dict[str, Any], verb: str = "Create") -> dict[str, Any]:
    suffix = obj.get("content", "")[-8:-4].replace(" ", "-")  # ids hold no spaces (bridge/core/textguard.py)
    return {"id": f"{obj['id']}/{verb.lower()}/{suffix}", "type": verb,
            "actor": obj["attributedTo"], "object": obj}


async def webmention_jobs() -> list[Job]:
    return await Job.filter(kind=SendWebmention.KIND).order_by("id")


async def test_reply_like_boost_update_delete_undo(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        await arrive(config, create(note(1)))
        row = await Interaction.get(object_id=f"{ALICE}/statuses/1")
        assert (row.kind.value, row.state, row.target_url, row.post_id) == ("reply", InteractionState.PUBLISHED,
                                                                             TARGET, 1)
        assert (row.author_name, row.author_url, row.author_photo) == (
            "Alice", "https://social.example/@alice", "https://social.example/alice.png")
        assert row.webmention_state is WebmentionState.QUEUED and len(await webmention_jobs()) == 1

        # By permalink too; a like and a boost of the post.
        await arrive(config, create(note(2, in_reply_to=TARGET)))
        await arrive(config, {"id": f"{ALICE}#likes/1", "type": "Like", "actor": ALICE, "object": TARGET})
        await arrive(config, {"id": f"{ALICE}/statuses/9/activity", "type": "Announce", "actor": ALICE,
                              "object": f"{BASE}/users/blog/posts/1", "to": [PUBLIC]})
        kinds = sorted(str(k) for k in await Interaction.all().values_list("kind", flat=True))
        assert kinds == ["like", "reply", "reply", "repost"]

        # Edited: re-rendered, told again.
        edited = note(1, content="<p>edited</p>", updated="2026-11-24T07:00:00Z")
        await arrive(config, create(edited, "Update"))
        row = await Interaction.get(object_id=f"{ALICE}/statuses/1")
        assert row.content == "<p>edited</p>" and row.edited is not None
        assert [j.payload["interaction"] for j in await webmention_jobs()].count(row.id) == 2

        # Deleted by someone else: refused; by its author: withdrawn and told again.
        await arrive(config, {"id": f"{MALLORY}/d/1", "type": "Delete", "actor": MALLORY, "object": row.object_id})
        assert (await Interaction.get(id=row.id)).state is InteractionState.PUBLISHED
        await arrive(config, {"id": f"{ALICE}/statuses/1#delete", "type": "Delete", "actor": ALICE,
                              "object": {"id": row.object_id, "type": "Tombstone"}})
        assert (await Interaction.get(id=row.id)).state is InteractionState.DELETED
        assert [j.payload["interaction"] for j in await webmention_jobs()].count(row.id) == 3
        # A late redelivery of the Create does not bring it back.
        await arrive(config, {**create(note(1)), "id": f"{ALICE}/statuses/1/again"})
        assert (await Interaction.get(id=row.id)).state is InteractionState.DELETED

        await arrive(config, {"id": f"{ALICE}#likes/1/undo", "type": "Undo", "actor": ALICE,
                              "object": {"id": f"{ALICE}#likes/1", "type": "Like", "actor": ALICE, "object": TARGET}})
        assert (await Interaction.get(object_id=f"{ALICE}#likes/1")).state is InteractionState.DELETED


async def test_awkward_but_real_shapes_of_replies(write_config: Callable[..., Path]) -> None:
    """Issue 20 (9): shapes real servers send, each of which was lost or misfiled before."""
    post = f"{BASE}/users/blog/posts/1"
    async with world(write_config) as config:
        # attributedTo as a list of one id, or of one object (refused as "not the signer's").
        await arrive(config, create({**note(1), "attributedTo": [ALICE]}) | {"actor": ALICE})
        await arrive(config, create({**note(2), "attributedTo": [{"id": ALICE, "type": "Person"}]}) | {"actor": ALICE})
        # inReplyTo as a list of one (it answered nothing of ours).
        await arrive(config, create(note(3, in_reply_to=[post])))  # type: ignore[arg-type]
        for n in (1, 2, 3):
            row = await Interaction.get(object_id=f"{ALICE}/statuses/{n}")
            assert (row.kind.value, row.target_url, row.post_id) == ("reply", TARGET, 1), n

        # An Article reply keeps its content warning and its title.
        article = {**note(4), "type": "Article", "name": "On your post", "summary": "spoilers"}
        await arrive(config, create(article))
        row = await Interaction.get(object_id=f"{ALICE}/statuses/4")
        assert row.summary == "spoilers" and (row.data or {}).get("name") == "On your post"
        # Media and events are statuses on Mastodon: comments here.
        for n, kind in ((5, "Video"), (6, "Audio"), (7, "Image"), (8, "Document"), (9, "Event")):
            await arrive(config, create({**note(n), "type": kind, "name": f"a {kind}"}))
            assert (await Interaction.get(object_id=f"{ALICE}/statuses/{n}")).kind.value == "reply", kind
        # An attachment whose url is a Link with its own mediaType (PeerTube, Funkwhale).
        linked = note(10, attachment=[{"type": "Document", "name": "clip", "url": [
            {"type": "Link", "mediaType": "video/mp4", "href": "https://social.example/media/clip.mp4"}]}])
        await arrive(config, create(linked))
        row = await Interaction.get(object_id=f"{ALICE}/statuses/10")
        assert (row.data or {}).get("attachments") == [
            {"url": "https://social.example/media/clip.mp4", "media_type": "video/mp4", "name": "clip"}]
        # The comment links the post's page only on the author's own server.
        await arrive(config, create(note(11, url="https://evil.example/phish")))
        await arrive(config, create(note(12, url="https://social.example/@alice/12")))
        assert (await Interaction.get(object_id=f"{ALICE}/statuses/11")).url == f"{ALICE}/statuses/11"
        assert (await Interaction.get(object_id=f"{ALICE}/statuses/12")).url == "https://social.example/@alice/12"

        app = make_app(config, workers=False)
        async with TestClient(TestServer(app)) as client:
            rows = {n: await Interaction.get(object_id=f"{ALICE}/statuses/{n}") for n in (4, 10)}
            page = await (await client.get(f"/interactions/{rows[4].id}")).text()
            entry = mf2py.parse(doc=page)["items"][0]
            assert entry["properties"]["name"] == ["On your post"] and entry["properties"]["summary"] == ["spoilers"]
            page = await (await client.get(f"/interactions/{rows[10].id}")).text()
            assert 'href="https://social.example/media/clip.mp4"' in page


async def test_an_emoji_reaction_is_a_reacji_not_a_like_that_loses_its_emoji(write_config: Callable[..., Path]) -> None:
    """Issue 20 (6): an `EmojiReact` (or a `Like` with `content`, Misskey's) is sent to the blog
    as what it is: a reply whose whole content is the one emoji. A plain like stays a like."""
    async with world(write_config) as config:
        await arrive(config, {"id": f"{ALICE}/reactions/1", "type": "EmojiReact", "actor": ALICE, "object": TARGET,
                              "content": "🔥"})
        await arrive(config, {"id": f"{ALICE}/likes/2", "type": "Like", "actor": ALICE, "object": TARGET,
                              "_misskey_reaction": "👍"})
        await arrive(config, {"id": f"{ALICE}#likes/3", "type": "Like", "actor": ALICE, "object": TARGET})
        rows = {r.object_id: r for r in await Interaction.all()}
        app = make_app(config, workers=False)
        async with TestClient(TestServer(app)) as client:
            entries = {}
            for object_id, row in rows.items():
                page = await (await client.get(f"/interactions/{row.id}")).text()
                entries[object_id] = mf2py.parse(doc=page)["items"][0]["properties"]
        fire, thumbs, plain = entries[f"{ALICE}/reactions/1"], entries[f"{ALICE}/likes/2"], entries[f"{ALICE}#likes/3"]
        assert fire["in-reply-to"] == [TARGET] and "like-of" not in fire
        assert [c["value"] for c in fire["content"]] == ["🔥"]
        assert thumbs["in-reply-to"] == [TARGET] and [c["value"] for c in thumbs["content"]] == ["👍"]
        assert plain["like-of"] == [TARGET] and "in-reply-to" not in plain and "content" not in plain


async def test_an_actor_deleting_itself_withdraws_its_interactions(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        await arrive(config, create(note(1)))
        await arrive(config, {"id": f"{ALICE}#likes/1", "type": "Like", "actor": ALICE, "object": TARGET})
        await arrive(config, create(note(2, actor=MALLORY)))
        await arrive(config, {"id": f"{ALICE}#delete", "type": "Delete", "actor": ALICE, "object": ALICE})
        states = dict(await Interaction.all().values_list("actor_uri", "state"))
        assert await Interaction.filter(actor_uri=ALICE, state=InteractionState.DELETED).count() == 2
        assert states[MALLORY] == InteractionState.PUBLISHED
        assert (await RemoteActor.get(uri=ALICE)).gone_at is not None  # the follower flow ran too
        assert len(await webmention_jobs()) == 5  # three sent, two taken back


async def test_threads_mentions_and_what_is_not_ours(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        await arrive(config, create(note(1)))
        parent = await Interaction.get(object_id=f"{ALICE}/statuses/1")
        await arrive(config, create(note(2, actor=MALLORY, in_reply_to=parent.object_id)))
        child = await Interaction.get(object_id=f"{MALLORY}/statuses/2")
        assert child.parent_id == parent.id and child.target_url == TARGET
        # Mentioning the blog without replying to a post: a reply to the blog's home page.
        await arrive(config, create(note(3, in_reply_to=None, tag=[{"type": "Mention", "href": f"{BASE}/users/blog"}])))
        assert (await Interaction.get(object_id=f"{ALICE}/statuses/3")).target_url == config.blogs[0].url
        # About someone else's post, no mention: not ours (and no network to walk the thread).
        await arrive(config, create(note(4, in_reply_to="http://127.0.0.1:9/elsewhere")))
        await arrive(config, {"id": f"{ALICE}#likes/2", "type": "Like", "actor": ALICE, "object": "http://127.0.0.1:9/x"})
        # A Note attributed to someone else, or with an id on another host: refused.
        await arrive(config, create(note(5) | {"attributedTo": MALLORY}) | {"actor": ALICE})
        await arrive(config, create(note(6) | {"id": "https://other.example/statuses/6"}))
        assert not await Interaction.filter(object_id__in=[f"{ALICE}/statuses/4", f"{ALICE}#likes/2",
                                                           f"{ALICE}/statuses/5",
                                                           "https://other.example/statuses/6"]).exists()


async def test_a_thread_is_walked_up_and_profiles_are_refreshed(write_config: Callable[..., Path]) -> None:
    peer = await Peer.start()
    try:
        async with world(write_config) as config:
            carol = peer.actor("carol", keypair("carol")[1], url=f"{peer.base}/@carol",
                               icon={"type": "Image", "url": f"{peer.base}/carol.png"})
            # A reply to a reply the bridge never saw, whose parent answers our post.
            middle = peer.url("/notes/middle")
            peer.serve("/notes/middle", {"id": middle, "type": "Note", "attributedTo": peer.url("/users/dave"),
                                         "inReplyTo": f"{BASE}/users/blog/posts/1", "content": "hm"})
            await arrive(config, create(note(1, actor=carol, in_reply_to=middle)))
            row = await Interaction.get(object_id=f"{carol}/statuses/1")
            assert (row.target_url, row.parent_id, row.in_reply_to) == (TARGET, None, middle)
            assert (row.author_name, row.author_photo, row.author_url) == (
                "Carol", f"{peer.base}/carol.png", f"{peer.base}/@carol")
            # A Create naming its Note by id only: the Note is fetched from its server.
            peer.serve("/users/carol/statuses/2", note(2, actor=carol))
            await arrive(config, {"id": f"{carol}/statuses/2/activity", "type": "Create", "actor": carol,
                                  "object": f"{carol}/statuses/2"})
            assert (await Interaction.get(object_id=f"{carol}/statuses/2")).content == "<p>reply 2</p>"
            # Her profile changes: the pages show the new name.
            peer.actor("carol", keypair("carol")[1], name="Carol Renamed", url=f"{peer.base}/@carol")
            await arrive(config, {"id": f"{carol}#update/1", "type": "Update", "actor": carol,
                                  "object": {"id": carol, "type": "Person"}})
            row = await Interaction.get(id=row.id)
            assert (row.author_name, row.author_photo) == ("Carol Renamed", None)
    finally:
        await peer.close()


async def test_private_replies_are_kept_never_shown(write_config: Callable[..., Path]) -> None:
    async with world(write_config) as config:
        await arrive(config, create(note(1, to=[f"{ALICE}/followers"], cc=[])))
        await arrive(config, create(note(2, to=[f"{BASE}/users/blog"], cc=[])))
        await arrive(config, create(note(3, to=[f"{ALICE}/followers"], cc=[PUBLIC])))
        rows = {r.object_id.rsplit("/", 1)[-1]: r for r in await Interaction.all()}
        assert (rows["1"].visibility, rows["1"].state) == (Visibility.FOLLOWERS, InteractionState.PRIVATE)
        assert (rows["2"].visibility, rows["2"].state) == (Visibility.DIRECT, InteractionState.PRIVATE)
        assert (rows["3"].visibility, rows["3"].state) == (Visibility.UNLISTED, InteractionState.PUBLISHED)
        assert [j.payload["interaction"] for j in await webmention_jobs()] == [rows["3"].id]
        async with TestClient(TestServer(make_app(config, workers=False))) as client:
            for n, status in (("1", 404), ("2", 404), ("3", 200)):
                response = await client.get(f"/interactions/{rows[n].id}")
                assert response.status == status, n
            # A public reply edited into a followers-only one: taken back from the blog.
            await Interaction.filter(id=rows["3"].id).update(webmentions_sent=1)
            await arrive(config, create(note(3, to=[f"{ALICE}/followers"], cc=[]), "Update"))
            assert (await Interaction.get(id=rows["3"].id)).state is InteractionState.PRIVATE
            assert [j.payload["interaction"] for j in await webmention_jobs()] == [rows["3"].id] * 2
            assert (await client.get(f"/interactions/{rows['3'].id}")).status == 410
        with pytest.raises(admin.NotAllowed):
            await admin.resend(rows["1"].id)


async def test_hold_then_approve_or_reject(write_config: Callable[..., Path]) -> None:
    async with world(write_config, "[moderation]\nhold_interactions = true\n") as config:
        await arrive(config, create(note(1)))
        await arrive(config, create(note(2)))
        first, second = await Interaction.all().order_by("id")
        assert first.state is second.state is InteractionState.HELD and await webmention_jobs() == []
        assert [r.id for r in await admin.list_interactions(held=True)] == [second.id, first.id]
        async with TestClient(TestServer(make_app(config, workers=False))) as client:
            assert (await client.get(f"/interactions/{first.id}")).status == 404  # nothing public yet
            approved = await admin.approve(first.id)
            assert approved.state is InteractionState.PUBLISHED
            assert [j.payload["interaction"] for j in await webmention_jobs()] == [first.id]
            response = await client.get(f"/interactions/{first.id}")
            assert response.status == 200 and "reply 1" in await response.text()
            assert response.headers["Link"] == f'<{BASE}/webmention>; rel="webmention"'
            await admin.reject(second.id)
            assert (await client.get(f"/interactions/{second.id}")).status == 410
            assert len(await webmention_jobs()) == 1  # never sent: nothing to take back
            # Taking down a published one: 410, and the blog is told again.
            await Interaction.filter(id=first.id).update(webmentions_sent=1)
            await admin.reject(first.id)
            assert (await client.get(f"/interactions/{first.id}")).status == 410
            assert [j.payload["interaction"] for j in await webmention_jobs()] == [first.id, first.id]
            assert (await client.get("/interactions/999")).status == 404
        with pytest.raises(admin.NotAllowed):
            await admin.approve(second.id)
        with pytest.raises(admin.UnknownInteraction):
            await admin.approve(999)
        assert [r.id for r in await admin.list_interactions(held=True)] == []
        assert len(await admin.list_interactions(held=False, blog="blog")) == 2


WORDPRESS = "http://127.0.0.1:9/wp-json/webmention/1.0/endpoint"


@pytest.mark.parametrize(("endpoint", "status"), [(WORDPRESS, 200), ("http://127.0.0.1:9/webmention/", 410),
                                                  (None, 410)])
async def test_a_withdrawn_page_is_a_tombstone_only_where_410_is_ignored(
    write_config: Callable[..., Path], endpoint: str | None, status: int,
) -> None:
    """The WordPress plugin keeps a comment whose source answers 410: it gets a page it takes
    as an edit, with the thread's links and nobody's name or words. Others get the 410."""
    async with world(write_config) as config:
        await arrive(config, create(note(1)))
        await arrive(config, create(note(2, in_reply_to=f"{ALICE}/statuses/1")))
        parent, row = await Interaction.all().order_by("id")
        thread = f"{TARGET}?replytocom=41"
        await Interaction.filter(id__in=[parent.id, row.id]).update(webmentions_sent=1, webmention_endpoint=endpoint)
        await Interaction.filter(id=row.id).update(webmention_target=thread)
        async with TestClient(TestServer(make_app(config, workers=False))) as client:
            page = await (await client.get(f"/interactions/{row.id}")).text()
            assert f'href="{thread}"' in page and "reply 2" in page  # published: the thread's target linked
            await arrive(config, {"id": f"{ALICE}/statuses/2#delete", "type": "Delete", "actor": ALICE,
                                  "object": f"{ALICE}/statuses/2"})
            response = await client.get(f"/interactions/{row.id}")
            assert response.status == status
            html = await response.text()
            assert "reply 2" not in html and "Alice" not in html and "social.example" not in html
            if status == 200:
                props = mf2py.parse(doc=html, url=f"{BASE}/interactions/{row.id}")["items"][0]["properties"]
                assert props["in-reply-to"] == [TARGET, f"{BASE}/interactions/{parent.id}", thread]
                assert props["content"][0]["value"] == "This comment was deleted by its author."
            # Never sent: nothing to edit on the blog, a plain 410.
            await Interaction.filter(id=row.id).update(webmentions_sent=0)
            assert (await client.get(f"/interactions/{row.id}")).status == 410


async def test_rate_limits_per_actor_and_host(write_config: Callable[..., Path]) -> None:
    extra = "[moderation]\nactor_hourly_limit = 2\nhost_hourly_limit = 3\n"
    async with world(write_config, extra) as config:
        for n in range(1, 4):
            await arrive(config, create(note(n)))
        assert await Interaction.filter(actor_uri=ALICE).count() == 2  # the third dropped
        await RemoteActor.create(uri="https://social.example/users/bob", host="social.example", name="Bob",
                                 fetched_at=utcnow())
        for n in range(1, 3):
            await arrive(config, create(note(n, actor="https://social.example/users/bob")))
        assert await Interaction.filter(host="social.example").count() == 3  # the server's fourth dropped
        # An edit of a kept reply is not a new interaction: never limited.
        await arrive(config, create(note(1, content="<p>edit</p>"), "Update"))
        assert (await Interaction.get(object_id=f"{ALICE}/statuses/1")).content == "<p>edit</p>"


async def test_blocked_actors_and_domains_get_202_and_are_dropped(write_config: Callable[..., Path]) -> None:
    extra = f'[moderation]\nblocked_actors = ["{MALLORY}"]\nblocked_domains = ["evil.example"]\n'
    async with world(write_config, extra) as config:
        async with TestClient(TestServer(make_app(config, workers=False))) as client:
            async def post(actor: str) -> int:
                obj = note(1, actor=actor)
                response = await client.post("/users/blog/inbox", data=json.dumps(create(obj)),
                                             headers={"Content-Type": "application/activity+json"})
                return response.status

            assert await post(MALLORY) == 202  # config: actor
            assert await post("https://a.evil.example/users/x") == 202  # config: domain, with subdomains
            assert await post(ALICE) == 401  # not blocked: unsigned, refused
            blocks = client.app[CONTEXT].state(BlockList)  # the app that blocks reads its table afresh
            await admin.block("Social.Example.", blocks)
            assert [b.pattern for b in await admin.blocked()] == ["social.example"]
            assert await post(ALICE) == 202  # the table: domain
            assert await admin.unblock("social.example", blocks) and not await admin.unblock("social.example", blocks)
            assert await post(ALICE) == 401
            assert await InboxActivity.all().count() == 0
        # Blocked after it arrived: dropped by the job too.
        await admin.block(ALICE)
        await arrive(config, create(note(7)))
        assert not await Interaction.exists()
        with pytest.raises(ValueError):
            await admin.block("not a domain")


def test_moderation_config_errors_name_the_key(write_config: Callable[..., Path]) -> None:
    for extra, key in (("[moderation]\nblocked_domains = [\"https://x.example/\"]\n", "moderation.blocked_domains[0]"),
                       ("[moderation]\nblocked_actors = [\"x.example\"]\n", "moderation.blocked_actors[0]"),
                       ("[moderation]\nblocked_domains = [3]\n", "moderation.blocked_domains[0]"),
                       ("[moderation]\nactor_hourly_limit = 0\n", "moderation.actor_hourly_limit"),
                       ("[moderation]\nhold_interactions = \"yes\"\n", "moderation.hold_interactions"),
                       ("[moderation]\nfrobnicate = 1\n", "moderation.frobnicate")):
        with pytest.raises(ConfigError) as info:
            load_config(write_config(extra), env={})
        assert info.value.key == key, extra
