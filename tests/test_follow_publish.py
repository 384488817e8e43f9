"""Following and publishing end to end on the real app (HTTP server and queue worker in one
process): a follower on a local server sends a signed Follow to the blog's inbox, gets an
Accept signed by the blog, and then a Create, an Update and a Delete of a post of the
recorded WordPress blog — each request's signature checked by the follower's server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import BUILTIN_HANDLERS, make_app, new_http_session
from bridge.config import Config, load_config
from bridge.jobs.kinds import Deliver, Poll, Publish
from bridge.jobs.store import JobContext, enqueue
from bridge.jobs.worker import Worker
from bridge.keys import active_key, rotate_keys
from bridge.models import BlogPost, Follower, FollowState, InboxActivity, Job, JobState, RemoteActor
from bridge.publish.fanout import fan_out
from bridge.publish.record import Change, publish_now
from bridge.signatures import Scheme, SigningKey
from tests.fedi import Peer, Seen, keypair, signed_headers

from .blogserver import BlogServer

PUBLIC = "https://bridge.example"
BLOG = "http://127.0.0.1:8765/"
SEED = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"
ME = f"{PUBLIC}/users/blog"


@dataclass
class World:
    client: TestClient
    peer: Peer  # the follower's server: alice's actor, her inbox, the shared inbox
    alice: str
    key: SigningKey
    config: Config

    async def send(self, activity: dict[str, Any], path: str = "/users/blog/inbox") -> int:
        body = json.dumps(activity).encode()
        headers = signed_headers("POST", PUBLIC + path, body, self.key, datetime.now(UTC), Scheme.CAVAGE)
        response = await self.client.post(path, data=body, headers=headers)
        return response.status

    def follow(self, n: int = 1, **changes: Any) -> dict[str, Any]:
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{self.alice}/follows/{n}",
                "type": "Follow", "actor": self.alice, "object": ME, **changes}

    def received(self, kind: str, path: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(s.body) for s in self.posts(path) if json.loads(s.body).get("type") == kind]

    def posts(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.peer.seen if s.method == "POST" and (path is None or s.url.endswith(path))]

    async def wait_for(self, kind: str, count: int = 1, path: str | None = None, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received(kind, path)) < count:
            assert time.monotonic() < deadline, f"no {kind} after {timeout}s: {[s.body[:80] for s in self.posts()]}"
            await asyncio.sleep(0.05)
        return self.received(kind, path)


@pytest.fixture
async def blog() -> AsyncIterator[BlogServer]:
    server = await BlogServer.wordpress("twentytwentyone").start()
    try:
        yield server
    finally:
        await server.stop()


async def start_world(config: Config) -> AsyncIterator[World]:
    peer = await Peer.start()
    private, public = keypair("alice")
    alice = peer.actor("alice", public)
    for path in ("/users/alice/inbox", "/inbox"):
        peer.serve(path, b"", status=202)
    async def no_poll(job: Job, ctx: JobContext) -> None:
        """The daemon's own polls would record the posts first (announce=False): here posts come by publish_now."""

    async with TestClient(TestServer(make_app(config, handlers={Poll.KIND: no_poll}))) as client:
        peer.verify_with = (await active_key("blog")).public_pem  # every POST is checked with the blog's key
        try:
            yield World(client, peer, alice, SigningKey(f"{alice}#main-key", private), config)
        finally:
            await peer.close()


@pytest.fixture
async def w(write_config: Any, blog: BlogServer) -> AsyncIterator[World]:
    # The recorded posts are from 2019: allow pushing old posts here (the limit has its own test).
    config = load_config(write_config("[delivery]\nmax_post_age_days = 100000.0\n", blog_url=BLOG), env={})
    async for world in start_world(config):
        yield world


def verified(w: World, kind: str) -> list[Seen]:
    return [s for s in w.posts() if json.loads(s.body).get("type") == kind]


async def test_follow_accept_create_update_delete(w: World, blog: BlogServer) -> None:
    follow = w.follow()
    assert await w.send(follow) == 202
    [accept] = await w.wait_for("Accept", path="/users/alice/inbox")
    assert accept["actor"] == ME and accept["object"]["id"] == follow["id"]  # the Follow echoed, same id
    assert accept["object"] == {"id": follow["id"], "type": "Follow", "actor": w.alice, "object": ME}
    follower = await Follower.get(actor_uri=w.alice)
    assert (follower.state, follower.inbox, follower.shared_inbox, follower.follow_id) == (
        FollowState.ACCEPTED, f"{w.alice}/inbox", w.peer.url("/inbox"), follow["id"])
    assert (await RemoteActor.get(uri=w.alice)).handle == "alice@127.0.0.1"

    async with new_http_session(w.config) as session:
        assert await publish_now(session, w.config.blogs[0], SEED) is Change.NEW
        [create] = await w.wait_for("Create", path="/inbox")  # to the shared inbox
        row = await BlogPost.get(url=SEED)
        assert create["id"] == f"{ME}/posts/{row.id}/create" and create["object"]["url"] == SEED
        assert create["object"]["name"] == "Binge-learning certificates"

        page = blog.routes[("/2019/06/12/binge-learning-certificates/", ())]
        page.body = page.body.replace(b"Binge-learning certificates", b"Binge-learning certificates, revisited")
        rest = blog.routes[("/wp-json/wp/v2/posts/5", ())]
        rest.body = rest.body.replace(b"Binge-learning certificates", b"Binge-learning certificates, revisited")
        # The edit, read on a clock 2 s past the first reading (no sleeping): an Update
        # carries `updated` only past 1 s (bridge/publish/documents.py).
        edited = row.first_seen_at + timedelta(seconds=2)
        assert await publish_now(session, w.config.blogs[0], SEED, clock=lambda: edited) is Change.CHANGED
        [update] = await w.wait_for("Update", path="/inbox")
        assert update["object"]["id"] == create["object"]["id"] and update["id"].startswith(f"{ME}/posts/{row.id}/update/")
        assert "revisited" in json.dumps(update["object"]) and update["object"]["updated"]

        blog.add(SEED, b"gone", {"Content-Type": "text/html"}, status=410)
        assert await publish_now(session, w.config.blogs[0], SEED) is Change.GONE
        [delete] = await w.wait_for("Delete", path="/inbox")
        assert delete["object"]["id"] == create["object"]["id"] and delete["object"]["type"] == "Tombstone"
    for seen in w.posts():
        assert seen.verified is Scheme.CAVAGE, seen  # each one signed by the blog, checked on arrival
    assert await Job.filter(kind__in=[Deliver.KIND, Publish.KIND], state=JobState.DONE).count() == 7  # 3 publish + 4 deliver


async def test_every_follow_is_answered_and_undo_removes(w: World) -> None:
    assert await w.send(w.follow(1)) == 202
    await w.wait_for("Accept")
    assert await w.send(w.follow(2)) == 202  # following again (Mastodon does after a key change)
    accepts = await w.wait_for("Accept", 2)
    assert [a["object"]["id"] for a in accepts] == [f"{w.alice}/follows/1", f"{w.alice}/follows/2"]
    assert await Follower.filter(actor_uri=w.alice).count() == 1
    assert (await Follower.get(actor_uri=w.alice)).follow_id == f"{w.alice}/follows/2"
    undo = {"id": f"{w.alice}/follows/2/undo", "type": "Undo", "actor": w.alice, "object": w.follow(2)}
    assert await w.send(undo, path="/inbox") == 202
    await _until(lambda: _count(w.alice), 0)


async def test_block_and_delete_of_the_actor_remove_the_follower(w: World) -> None:
    assert await w.send(w.follow(1)) == 202
    await w.wait_for("Accept")
    assert await w.send({"id": f"{w.alice}/blocks/1", "type": "Block", "actor": w.alice, "object": ME}) == 202
    await _until(lambda: _count(w.alice), 0)
    assert await w.send(w.follow(3)) == 202
    await w.wait_for("Accept", 2)
    assert await w.send({"id": f"{w.alice}#delete", "type": "Delete", "actor": w.alice, "object": w.alice}) == 202
    await _until(lambda: _count(w.alice), 0)


async def test_unhandled_types_are_done_not_retried(w: World) -> None:
    like = {"id": f"{w.alice}/likes/1", "type": "Like", "actor": w.alice, "object": f"{ME}/posts/1"}
    assert await w.send(like) == 202
    await _until(lambda: Job.filter(kind="inbox.process", state=JobState.DONE).count(), 1)
    assert (await Job.get(kind="inbox.process")).attempts == 1
    assert await InboxActivity.exists(activity_id=like["id"])


async def bridge(cmd: list[str], env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run the real `bridge` command (its own process and database connection)."""
    proc = await asyncio.create_subprocess_exec(*cmd, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_manual_approval_waits_then_cli_approves_or_removes(write_config: Any, blog: BlogServer,
                                                                   bridge_cmd: list[str], bridge_env: dict[str, str]) -> None:
    path = write_config("[[blogs]]\nname = \"closed\"\nurl = \"http://127.0.0.1:8765/closed/\"\n"
                        "manually_approves_followers = true\n", blog_url=BLOG)
    config = load_config(path, env={})
    async for world in start_world(config):
        closed = f"{PUBLIC}/users/closed"
        world.peer.verify_with = (await active_key("closed")).public_pem
        assert await world.send(world.follow(1, object=closed), path="/users/closed/inbox") == 202
        await _until(lambda: Follower.filter(state=FollowState.PENDING).count(), 1)
        await asyncio.sleep(0.5)
        assert world.received("Accept") == []  # nothing until the operator decides
        cli = [*bridge_cmd, "-c", str(path), "followers"]
        code, out = await bridge(cli, bridge_env, "--pending")
        assert code == 0 and "closed\tpending\t" + world.alice in out and "@alice@127.0.0.1" in out, out
        code, out = await bridge(cli, bridge_env, "approve", world.alice)
        assert code == 0 and "approved" in out, out
        [accept] = await world.wait_for("Accept")
        assert accept["actor"] == closed and accept["object"]["id"] == f"{world.alice}/follows/1"
        assert (await Follower.get(actor_uri=world.alice)).state is FollowState.ACCEPTED
        assert (await bridge(cli, bridge_env, "remove", world.alice))[0] == 0
        [reject] = await world.wait_for("Reject")
        assert reject["object"]["id"] == f"{world.alice}/follows/1"
        assert not await Follower.exists(actor_uri=world.alice)
        code, out = await bridge(cli, bridge_env, "reject", world.alice)
        assert code == 1 and "no follower" in out, out
        assert all(s.verified is Scheme.CAVAGE for s in world.posts())


async def test_an_old_post_found_late_is_not_pushed(write_config: Any, blog: BlogServer) -> None:
    config = load_config(write_config(blog_url=BLOG), env={})  # default: 14 days
    async for world in start_world(config):
        assert await world.send(world.follow()) == 202
        await world.wait_for("Accept")
        async with new_http_session(config) as session:
            assert await publish_now(session, config.blogs[0], SEED) is Change.NEW  # published in 2019
        await _until(lambda: Job.filter(kind=Publish.KIND, state=JobState.DONE).count(), 1)
        assert await Job.filter(kind=Deliver.KIND).count() == 1  # the Accept only
        assert world.received("Create") == []


async def test_key_rotation_sends_an_update_of_the_actor(w: World) -> None:
    assert await w.send(w.follow()) == 202
    await w.wait_for("Accept")
    await rotate_keys("blog")
    w.peer.verify_with = (await active_key("blog")).public_pem
    [update] = await w.wait_for("Update", path="/inbox")
    assert update["object"]["id"] == ME and update["object"]["publicKey"]["publicKeyPem"] == w.peer.verify_with
    assert w.posts("/inbox")[-1].verified is Scheme.CAVAGE


async def test_fan_out_dedupes_shared_inboxes_streams_batches_and_is_idempotent(database: Config) -> None:
    rows = [Follower(blog="blog", actor_uri=f"https://h{n % 7}.example/users/u{n}", inbox=f"https://h{n % 7}.example/users/u{n}/inbox",
                     shared_inbox=f"https://h{n % 7}.example/inbox" if n % 2 else None) for n in range(1200)]
    await Follower.bulk_create(rows)
    await Follower.filter(actor_uri="https://h0.example/users/u0").update(state=FollowState.PENDING)
    activity = {"id": f"{ME}/posts/1/create", "type": "Create", "actor": ME}
    first = await fan_out("blog", activity)
    again = await fan_out("blog", activity)  # a fan-out cut off and run again adds nothing
    jobs = await Job.filter(kind=Deliver.KIND).order_by("id")
    inboxes = [j.payload["inbox"] for j in jobs]
    assert first == again and len(inboxes) == len(set(inboxes)) == 7 + 599  # 7 shared + personal of the rest
    assert all(i.endswith("/inbox") and "/users/" not in i for i in inboxes[:7])  # shared inboxes first
    assert "https://h0.example/users/u0/inbox" not in inboxes  # pending: not a follower yet
    assert {j.payload.get("follower") is not None for j in jobs[7:]} == {True}


async def test_the_worker_runs_publish_in_process(database: Config) -> None:
    """No post row: the job is done without sending (a row deleted since)."""
    await enqueue(Publish.from_payload({"blog": "blog", "post": 999, "change": "new"}))
    worker = Worker(database.queue, BUILTIN_HANDLERS, context=JobContext(config=database))
    assert await worker.run_until_idle() == 1
    assert (await Job.get(kind=Publish.KIND)).state is JobState.DONE


async def _count(actor: str) -> int:
    return await Follower.filter(actor_uri=actor).count()


async def _until(value: Any, expected: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while (got := await value()) != expected:
        assert time.monotonic() < deadline, f"{got} != {expected}"
        await asyncio.sleep(0.05)



PINGED = "http://127.0.0.1:8765/2025/01/02/hello-fediverse/"
PINGED_PAGE = b"""<!doctype html><html lang="en"><head><title>Hello, fediverse</title></head><body>
<article class="h-entry"><h1 class="p-name">Hello, fediverse</h1>
<time class="dt-published" datetime="2025-01-02T10:00:00+00:00">2 January 2025</time>
<div class="e-content"><p>This blog is now on the fediverse through
<a href="https://bridge.example/">the bridge</a>.</p></div>
<a class="u-url" href="http://127.0.0.1:8765/2025/01/02/hello-fediverse/">permalink</a></article></body></html>"""


async def test_a_webmention_ping_from_the_blog_publishes_at_once(w: World, blog: BlogServer) -> None:
    assert await w.send(w.follow()) == 202
    await w.wait_for("Accept")
    blog.add(PINGED, PINGED_PAGE, {"Content-Type": "text/html; charset=utf-8"})
    response = await w.client.post("/webmention", data={"source": PINGED, "target": "https://bridge.example/"})
    assert response.status == 202
    [create] = await w.wait_for("Create", path="/inbox")
    assert create["object"]["url"] == PINGED and "now on the fediverse" in create["object"]["content"]
    assert w.posts("/inbox")[-1].verified is Scheme.CAVAGE


@pytest.mark.parametrize(("source", "target", "why"), [
    ("https://elsewhere.example/p", "https://bridge.example/", "source is not a page of a blog bridged here"),
    (PINGED, "https://other.example/", "target is not on this bridge"),
    ("", "https://bridge.example/", "source and target are required"),
])
async def test_a_ping_not_from_the_blog_or_not_to_the_bridge_is_refused(w: World, source: str, target: str,
                                                                        why: str) -> None:
    response = await w.client.post("/webmention", data={"source": source, "target": target})
    assert (response.status, (await response.json())["detail"]) == (400, why)
    assert not await Job.exists(kind="webmention.ping")


async def test_a_ping_whose_source_does_not_link_to_the_bridge_publishes_nothing(w: World, blog: BlogServer) -> None:
    blog.add(PINGED, PINGED_PAGE.replace(b"https://bridge.example/", b"https://example.org/"),
             {"Content-Type": "text/html; charset=utf-8"})
    response = await w.client.post("/webmention", data={"source": PINGED, "target": "https://bridge.example/"})
    assert response.status == 202
    await _until(lambda: Job.filter(kind="webmention.ping", state=JobState.DONE).count(), 1)
    assert not await BlogPost.exists(url=PINGED)


async def test_accounts_a_post_mentions_or_replies_to_are_addressed_too(w: World) -> None:
    from bridge.publish.fanout import _addressed_inboxes

    bob = w.peer.actor("bob", keypair("bob")[1], endpoints={"sharedInbox": w.peer.url("/shared-b")})
    carol = w.peer.actor("carol", keypair("carol")[1], endpoints={})
    w.peer.serve("/notes/1", {"id": w.peer.url("/notes/1"), "type": "Note", "attributedTo": carol, "content": "hi"})
    activity = {"type": "Create", "object": {"tag": [{"type": "Mention", "href": bob},
                                                     {"type": "Mention", "href": w.peer.url("/users/nobody")}],
                                             "inReplyTo": w.peer.url("/notes/1")}}
    async with new_http_session(w.config) as session:
        inboxes = await _addressed_inboxes(JobContext(config=w.config, http=session), activity)
    assert inboxes == [w.peer.url("/shared-b"), f"{carol}/inbox"]  # an unreachable account is left out


async def test_publish_jobs_are_deduplicated_per_version(database: Config) -> None:
    from bridge.publish.fanout import enqueue_publish

    first = await enqueue_publish("blog", 1, "changed", "ab" * 32)
    again = await enqueue_publish("blog", 1, "changed", "ab" * 32)  # the same edit seen twice
    gone = await enqueue_publish("blog", 1, "gone", "1700000000")
    gone_again = await enqueue_publish("blog", 1, "gone", "1700000100")  # gone, back, gone again
    assert first.id == again.id and len({first.id, gone.id, gone_again.id}) == 3
