"""Posts that mention fediverse accounts reach those accounts, and gone actors stop following.

End to end on the real app (its inbox, its queue handlers run by `Worker.run_until_idle`,
its one outbound client) against a local server playing a Mastodon-like instance that
checks the blog's signature on every POST (tests/fedi.py `Peer`):
- a post recorded by `record.record_post` with mentions → publish → fan-out → one
  delivery per unique inbox: followers' shared inbox, mentioned accounts' inboxes, a
  mention whose link is a profile page (`https://host/@dave`, as Mastodon writes them)
  resolved to the actor;
- an actor gone (410 on its document, its own Delete, 410 from its inbox) stops
  following every blog.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import BUILTIN_HANDLERS, make_app, new_http_session
from bridge.blog.post import Mention, Post, Profile
from bridge.config import Config, load_config
from bridge.jobs.kinds import Deliver, Publish
from bridge.jobs.store import JobContext
from bridge.jobs.worker import Worker
from bridge.keys import active_key
from bridge.models import Follower, FollowState, Job, JobState, RemoteActor
from bridge.net.remote import ActorGone, RemoteActors
from bridge.publish.fanout import fan_out
from bridge.publish.record import Change, record_post
from bridge.publish.reader import ReadResult
from bridge.signatures import Scheme, SigningKey
from tests.fedi import AS2, Peer, Seen, keypair, signed_headers

PUBLIC = "https://bridge.example"
BLOG = "http://127.0.0.1:8765/"
ME = f"{PUBLIC}/users/blog"
POST_URL = f"{BLOG}2025/03/04/hello-dave/"


@dataclass
class World:
    client: TestClient
    peer: Peer
    alice: str  # follows the blog; her instance has a shared inbox
    key: SigningKey
    config: Config
    worker: Worker

    async def send(self, activity: dict[str, Any], path: str = "/users/blog/inbox") -> int:
        body = json.dumps(activity).encode()
        headers = signed_headers("POST", PUBLIC + path, body, self.key, datetime.now(UTC), Scheme.CAVAGE)
        return (await self.client.post(path, data=body, headers=headers)).status

    async def follow(self) -> None:
        follow = {"id": f"{self.alice}/follows/1", "type": "Follow", "actor": self.alice, "object": ME}
        assert await self.send(follow) == 202
        await self.worker.run_until_idle()
        assert (await Follower.get(actor_uri=self.alice)).state is FollowState.ACCEPTED

    def posts(self, kind: str) -> list[Seen]:
        return [s for s in self.peer.seen if s.method == "POST" and json.loads(s.body).get("type") == kind]


@pytest.fixture
async def w(write_config: Any) -> AsyncIterator[World]:
    # A post "published" in 2025 must not be too old to push whatever today's date.
    config = load_config(write_config("[delivery]\nmax_post_age_days = 100000.0\n", blog_url=BLOG), env={})
    peer = await Peer.start()
    private, public = keypair("alice")
    alice = peer.actor("alice", public)
    for path in ("/users/alice/inbox", "/inbox"):
        peer.serve(path, b"", status=202)
    try:
        # No background workers: each test runs the queue itself, to completion.
        async with TestClient(TestServer(make_app(config, workers=False))) as client, \
                new_http_session(config) as session:
            peer.verify_with = (await active_key("blog")).public_pem  # every POST checked with the blog's key
            worker = Worker(config.queue, BUILTIN_HANDLERS, context=JobContext(config=config, http=session))
            yield World(client, peer, alice, SigningKey(f"{alice}#main-key", private), config, worker)
    finally:
        await peer.close()


def mastodon_profile(peer: Peer, username: str) -> str:
    """Serve a Mastodon-like account: the actor at /users/NAME (personal inbox only) and the
    same document at its profile page /@NAME, as Mastodon answers a request for AS2 there."""
    actor = peer.actor(username, keypair(username)[1], endpoints={}, url=peer.url(f"/@{username}"))
    _status, _headers, body = peer.routes[f"/users/{username}"]  # type: ignore[misc]
    peer.serve(f"/@{username}", body)
    peer.serve(f"/users/{username}/inbox", b"", status=202)
    return actor


def webfinger(peer: Peer, accounts: dict[str, str]) -> None:
    """/.well-known/webfinger for `acct:` resources → actor ids."""

    async def answer(request: web.Request) -> web.StreamResponse:
        actor = accounts.get(request.query.get("resource", ""))
        if actor is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"subject": request.query["resource"],
                                  "links": [{"rel": "self", "type": AS2, "href": actor}]},
                                 content_type="application/jrd+json")

    peer.routes["/.well-known/webfinger"] = answer


async def fanned_out() -> list[Job]:
    """The deliveries of fan-outs (bridge/publish/fanout.py `delivery_key`), not the Accepts."""
    return await Job.filter(kind=Deliver.KIND, dedupe_key__startswith="deliver:")


def post_mentioning(*mentions: Mention) -> ReadResult:
    links = " ".join(f'<a href="{m.url}">{m.name}</a>' for m in mentions)
    post = Post(url=POST_URL, published=datetime(2025, 3, 4, 9, 0, tzinfo=UTC), language="en",
                content_html=f"<p>Hello {links}!</p>", mentions=mentions)
    return ReadResult(post=post, profile=Profile(url=BLOG), url=POST_URL)


async def test_a_post_reaches_followers_and_mentioned_accounts_each_inbox_once(w: World) -> None:
    await w.follow()
    bob = w.peer.actor("bob", keypair("bob")[1])  # on alice's instance: the same shared inbox
    dave = mastodon_profile(w.peer, "dave")
    erin = w.peer.actor("erin", keypair("erin")[1], endpoints={})  # her profile page is HTML only
    w.peer.serve("/users/erin/inbox", b"", status=202)
    w.peer.serve("/@erin", b"<!doctype html><title>Erin</title>", content_type="text/html")
    webfinger(w.peer, {"acct:erin@127.0.0.1": erin})
    # A profile page naming an actor on another origin is not followed (and WebFinger does not know it).
    w.peer.serve("/@mallory", {"id": "http://localhost:1/users/mallory", "type": "Person", "inbox": "http://localhost:1/i"})

    read = post_mentioning(Mention(bob, "@bob"), Mention(w.peer.url("/@dave"), "@dave"),
                           Mention(w.peer.url("/@erin"), "@erin"), Mention(w.peer.url("/@mallory"), "@mallory"),
                           Mention(w.peer.url("/users/nobody"), "@nobody"))
    assert await record_post("blog", read) is Change.NEW
    await w.worker.run_until_idle()

    creates = w.posts("Create")
    by_inbox = sorted(s.url for s in creates)
    assert by_inbox == sorted([w.peer.url("/inbox"), f"{dave}/inbox", f"{erin}/inbox"])  # each once
    assert {s.verified for s in creates} == {Scheme.CAVAGE}  # signed by the blog, checked on arrival
    create = json.loads(creates[0].body)
    assert create["object"]["url"] == POST_URL
    assert {t["href"] for t in create["object"]["tag"] if t["type"] == "Mention"} >= {bob, w.peer.url("/@dave")}
    assert len(await fanned_out()) == 3  # the Create's
    assert await Job.filter(kind__in=[Publish.KIND, Deliver.KIND]).exclude(state=JobState.DONE).count() == 0
    # The profile link is remembered for the actor it named: the next post asks nothing more of it.
    assert (await RemoteActor.get(uri=dave)).profile_url == w.peer.url("/@dave")
    assert not await RemoteActor.exists(uri="http://localhost:1/users/mallory")
    assert [s.method for s in w.peer.seen if s.url.endswith("/@dave")] == ["GET"]  # the profile page read once


async def test_a_profile_link_is_resolved_once_then_from_the_cache(w: World) -> None:
    dave = mastodon_profile(w.peer, "dave")
    async with new_http_session(w.config) as session:
        remote = RemoteActors(session, PUBLIC)
        assert (await remote.find_actor(w.peer.url("/@dave"))).uri == dave
        fetched = len(w.peer.seen)
        assert (await remote.find_actor(w.peer.url("/@dave"))).uri == dave
        assert (await remote.find_actor(dave)).uri == dave
    assert len(w.peer.seen) == fetched


async def test_the_id_check_still_holds_for_the_document_fetched(w: World) -> None:
    """A page whose AS2 document names another id is not that actor's document: fetching
    it as the actor is refused; it only points `find_actor` at the id, fetched in turn."""
    mastodon_profile(w.peer, "dave")
    async with new_http_session(w.config) as session:
        remote = RemoteActors(session, PUBLIC)
        with pytest.raises(Exception, match="is not the URL asked for"):
            await remote.get(w.peer.url("/@dave"))
    assert not await RemoteActor.exists(uri=w.peer.url("/@dave"))


async def _follower_of_two_blogs(w: World, *, shared: bool = True) -> None:
    await w.follow()
    row = await Follower.get(actor_uri=w.alice)
    if not shared:
        await Follower.filter(id=row.id).update(shared_inbox=None)
    await Follower.create(blog="other", actor_uri=w.alice, inbox=row.inbox, shared_inbox=row.shared_inbox if shared else None,
                          state=FollowState.ACCEPTED)
    assert await Follower.filter(actor_uri=w.alice).count() == 2


async def test_an_actor_whose_document_answers_410_follows_no_blog(w: World) -> None:
    await _follower_of_two_blogs(w)
    w.peer.serve("/users/alice", {"error": "gone"}, status=410)
    async with new_http_session(w.config) as session:
        with pytest.raises(ActorGone):
            await RemoteActors(session, PUBLIC).get(w.alice, refresh=True)
    assert await Follower.filter(actor_uri=w.alice).count() == 0
    assert (await RemoteActor.get(uri=w.alice)).gone_at is not None


async def test_a_gone_mentioned_follower_is_removed_by_the_fan_out(w: World) -> None:
    """The same path from a flow: a post mentions a follower whose account is gone."""
    await _follower_of_two_blogs(w)
    await RemoteActor.filter(uri=w.alice).update(fetched_at=datetime(2000, 1, 1, tzinfo=UTC))  # stale: fetched again
    w.peer.serve("/users/alice", {"error": "gone"}, status=410)
    assert await record_post("blog", post_mentioning(Mention(w.alice, "@alice"))) is Change.NEW
    await w.worker.run_until_idle()
    assert await Follower.filter(actor_uri=w.alice).count() == 0


async def test_delete_of_the_actor_removes_it_from_every_blog(w: World) -> None:
    await _follower_of_two_blogs(w)
    assert await w.send({"id": f"{w.alice}#delete", "type": "Delete", "actor": w.alice, "object": w.alice},
                        path="/inbox") == 202
    await w.worker.run_until_idle()
    assert await Follower.filter(actor_uri=w.alice).count() == 0
    assert (await RemoteActor.get(uri=w.alice)).gone_at is not None


async def test_a_410_from_the_followers_inbox_removes_it_from_every_blog(w: World) -> None:
    await _follower_of_two_blogs(w, shared=False)
    w.peer.serve("/users/alice/inbox", b"gone", status=410)
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{ME}/posts/1/create",
                "type": "Create", "actor": ME, "object": {"id": f"{ME}/posts/1", "type": "Note"}}
    assert await fan_out("blog", activity) == 1
    await w.worker.run_until_idle()
    [delivery] = await fanned_out()
    assert delivery.state is JobState.DEAD
    assert await Follower.filter(actor_uri=w.alice).count() == 0
