"""Issue 21, part 3: Bluesky through Bridgy Fed, per blog, opt-in.

The pure parts (the Bluesky handle Bridgy Fed gives, its requirements, WebFinger's answer),
then the flow against a stand-in for Bridgy Fed's bot: an independent ActivityPub server
(Fedify, tests/peers/fedify-bot.mjs) that verifies each request's HTTP signature before it
answers a Follow with an Accept (or a Reject) and follows back. The bridge is the real app
(HTTP and queue worker) over TLS on 127.0.0.1, its config pointing `[bluesky] bridge_account`
at the stand-in: opting in sends one Follow, its Accept marks the follow accepted (the
dashboard and `bridge check` show the handle), a restart sends nothing, opting out sends the
Undo, and a Reject is recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bridge.app import make_app, new_http_session
from bridge.as2.bridgyfed import (
    bluesky_handle,
    bluesky_profile,
    follow_to_as2,
    undo_to_as2,
    unmet_requirements,
)
from bridge.as2.remote_actor import actor_link
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.inbox import following
from bridge.inbox.arrival import Arrival
from bridge.inbox.dispatch import handler_for
from bridge.jobs.kinds import Deliver, Poll, ReconcileBluesky
from bridge.jobs.retry import PermanentError
from bridge.jobs.store import JobContext, enqueue
from bridge.models import (
    Follower,
    FollowState,
    InboxActivity,
    Job,
    JobState,
    OutboundFollow,
    OutboundFollowState,
)
from bridge.net.fetch import FetchError
from bridge.ops.admin import data as admin_data
from bridge.ops.check import bluesky_points
from bridge.publish.following import (
    enqueue_reconciles,
    reconcile_job,
    statuses,
)

from .admin_seed import TOKEN
from .fedi import NODE, PEERS, require_node_peers
from .test_admin import logged_in, open_client
from .test_fedify_account import self_signed
from .test_fedify_follower import Follower_

AS2 = {"Accept": "application/activity+json"}
T = TypeVar("T")


# -- the pure parts ------------------------------------------------------------------------


def test_the_bluesky_handle_is_bridgy_feds_form_of_the_fediverse_handle() -> None:
    # https://fed.brid.gy/docs: @snarfed@indieweb.social is @snarfed.indieweb.social.ap.brid.gy
    assert bluesky_handle("@snarfed@indieweb.social") == "snarfed.indieweb.social.ap.brid.gy"
    assert bluesky_handle("blog@bridge.example") == "blog.bridge.example.ap.brid.gy"
    # ATProto handles have no _ ~ : and no capitals: Bridgy Fed writes a dash (ids.py DASH_CHARS)
    assert bluesky_handle("@My_Blog@Bridge.Example:8443") == "my-blog.bridge.example-8443.ap.brid.gy"
    assert bluesky_profile("blog.bridge.example.ap.brid.gy") == "https://bsky.app/profile/blog.bridge.example.ap.brid.gy"


async def test_handle_domain_changes_the_bluesky_handle(database: Config) -> None:
    config = replace(database, blogs=(replace(database.blogs[0], bluesky=True),))
    assert (await statuses(config))["blog"].handle == "blog.bridge.example.ap.brid.gy"
    config = replace(config, blogs=(replace(config.blogs[0], handle_domain="maya.example"),))
    assert (await statuses(config))["blog"].handle == "blog.maya.example.ap.brid.gy"
    assert await statuses(database) == {}  # not opted in, no follow stored: nothing to show


def test_bridgy_fed_requires_a_profile_picture_and_a_week() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    ready = {"icon": {"type": "Image", "url": "https://blog.example/me.jpg"}, "published": "2026-03-01T00:00:00Z"}
    assert unmet_requirements(ready, now) == []
    assert unmet_requirements({**ready, "published": None}, now) == []  # no date stated: not held against it
    young = unmet_requirements({**ready, "published": "2026-03-08T12:00:00Z"}, now)
    assert young == [("the account is 2 days old: Bridgy Fed bridges accounts older than 7 days "
                      "(this one from 2026-03-15 12:00 UTC)")]
    assert unmet_requirements({"published": "2026-03-01T00:00:00Z"}, now) == [
        "no profile picture: Bridgy Fed bridges only accounts with one"]


def test_follow_and_undo_documents() -> None:
    me, bot = "https://bridge.example/users/blog", "https://bsky.brid.gy/bsky.brid.gy"
    follow = follow_to_as2(me, bot, f"{me}#follows/ab")
    assert (follow["type"], follow["actor"], follow["object"], follow["id"]) == ("Follow", me, bot, f"{me}#follows/ab")
    undo = undo_to_as2(me, bot, f"{me}#follows/ab", f"{me}#undos/ab")
    assert undo["object"] == {"id": f"{me}#follows/ab", "type": "Follow", "actor": me, "object": bot}
    assert (undo["type"], undo["actor"], undo["id"]) == ("Undo", me, f"{me}#undos/ab")


def test_webfinger_names_the_actor_by_its_self_link() -> None:
    jrd = {"subject": "acct:bsky.brid.gy@bsky.brid.gy", "links": [
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "https://bsky.brid.gy/"},
        {"rel": "self", "type": "application/activity+json", "href": "https://bsky.brid.gy/bsky.brid.gy"}]}
    assert actor_link(json.dumps(jrd).encode()) == "https://bsky.brid.gy/bsky.brid.gy"
    assert actor_link(b'{"links": [{"rel": "self", "type": "text/html", "href": "https://x.example/"}]}') is None
    assert actor_link(b"not json") is None and actor_link(b"[]") is None


def test_one_handler_answers_accepts_and_rejects_of_our_follows() -> None:
    me = "https://bridge.example/users/blog"
    follow = {"id": f"{me}#follows/ab", "type": "Follow", "actor": me, "object": "https://bot.example/bot"}
    for verb in ("Accept", "Reject"):
        assert handler_for(verb, follow, "https://bot.example/bot") is following.follow_answered
        assert handler_for(verb, follow["id"], "https://bot.example/bot") is following.follow_answered


async def test_only_the_followed_account_answers_the_follow(database: Config) -> None:
    me = urls.actor_id(database.server.base_url, "blog")
    bot = "https://bot.example/users/bot"
    row = await OutboundFollow.create(blog="blog", handle="@bot@bot.example", actor_uri=bot, follow_id=f"{me}#follows/1")
    ctx = JobContext(config=database)

    def answer(verb: str, actor: str, obj: Any) -> Arrival:
        body = {"id": f"{actor}/answers/{verb}", "type": verb, "actor": actor, "object": obj}
        return Arrival(InboxActivity(id=1, activity_id=body["id"], actor=actor, type=verb, key_id=f"{actor}#key",
                                     signature_scheme="cavage", body=body), obj)

    echo = {"id": row.follow_id, "type": "Follow", "actor": me, "object": bot}
    await following.follow_answered(ctx, answer("Accept", "https://mallory.example/users/m", echo))
    assert (await OutboundFollow.get(id=row.id)).state is OutboundFollowState.PENDING  # not the bot's to say
    await following.follow_answered(ctx, answer("Accept", bot, {"type": "Follow", "actor": me, "object": bot}))
    assert (await OutboundFollow.get(id=row.id)).state is OutboundFollowState.ACCEPTED  # no id: actor and object
    await following.follow_answered(ctx, answer("Reject", bot, row.follow_id))  # a bare id
    found = await OutboundFollow.get(id=row.id)
    assert found.state is OutboundFollowState.REJECTED and found.answered_at is not None
    await following.follow_answered(ctx, answer("Accept", bot, f"{me}#follows/unknown"))  # not ours: nothing
    assert (await OutboundFollow.get(id=row.id)).state is OutboundFollowState.REJECTED


async def test_the_dashboard_shows_the_blogs_bluesky_line(write_config: Any) -> None:
    client = await open_client(write_config, {"BRIDGE_ADMIN_TOKEN": TOKEN}, "bluesky = true\n")
    try:
        await logged_in(client)
        await OutboundFollow.create(blog="blog", handle="@bsky.brid.gy@bsky.brid.gy",
                                    actor_uri="https://bsky.brid.gy/bsky.brid.gy", follow_id="x#follows/1",
                                    state=OutboundFollowState.ACCEPTED, answered_at=datetime.now(UTC))
        page = await (await client.get("/admin")).text()
        line = re.search(r'<p class="bluesky">(.*?)</p>', page, re.DOTALL)
        assert line, page
        assert '<span class="badge ok">accepted</span>' in line.group(1)
        assert ('<a href="https://bsky.app/profile/blog.bridge.example.ap.brid.gy">@blog.bridge.example.ap.brid.gy</a>'
                in line.group(1))
        await OutboundFollow.all().update(state=OutboundFollowState.PENDING)
        page = await (await client.get("/admin")).text()
        assert '<span class="badge warn">pending</span>' in page
    finally:
        await client.close()


# -- against a stand-in for Bridgy Fed's bot ------------------------------------------------


class Bot(Follower_):
    """tests/peers/fedify-bot.mjs and the lines it printed."""

    @property
    def ready(self) -> dict[str, Any]:
        return next(line for line in self.lines if "ready" in line)

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("sent") == kind]


async def start_bot(task: dict[str, Any], cert: Path) -> Bot:
    proc = await asyncio.create_subprocess_exec(
        str(NODE), str(PEERS / "fedify-bot.mjs"), json.dumps(task), cwd=str(PEERS), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)})
    bot = Bot(proc)
    await until(lambda: _true(any("ready" in line for line in bot.lines) or proc.returncode is not None))
    assert proc.returncode is None, bot.lines
    return bot


async def _true(value: bool) -> bool:
    return value


async def until(probe: Callable[[], Awaitable[T | None]], timeout: float = 30) -> T:
    """The first truthy value `probe` gives, polled."""
    deadline = time.monotonic() + timeout
    while not (value := await probe()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return value


async def no_poll(job: Job, ctx: JobContext) -> None:
    """The blog is a closed port here: no polls."""


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """The bridge's certificate for 127.0.0.1, which the bot trusts (NODE_EXTRA_CA_CERTS)."""
    return self_signed(tmp_path)


@pytest.fixture
async def bridge(tls: tuple[ssl.SSLContext, Path], write_config: Callable[..., Path], free_port: int,
                 database: Config) -> AsyncIterator[Callable[..., Awaitable[Config]]]:
    """Start the bridge (HTTP and workers, over TLS) with `bluesky = …` and the bot's handle;
    starting it again stops the one before, as a restart does."""
    require_node_peers()
    base = f"https://127.0.0.1:{free_port}"
    context = tls[0]
    running: list[TestServer] = []

    async def start(opted_in: bool, bot: str, name: str = "config.toml") -> Config:
        if running:
            await running.pop().close()
        extra = f'bluesky = {"true" if opted_in else "false"}\n[bluesky]\nbridge_account = "{bot}"\n'
        config = load_config(write_config(extra, base_url=base, name=name), env={})
        server = TestServer(make_app(config, handlers={Poll.KIND: no_poll}), host="127.0.0.1", port=free_port)
        await server.start_server(ssl=context)
        running.append(server)
        return config

    yield start
    for server in running:
        await server.close()


async def test_opting_in_follows_the_bot_once_its_accept_counts_and_opting_out_undoes_it(
    tls: tuple[ssl.SSLContext, Path], bridge: Callable[..., Awaitable[Config]], free_port: int
) -> None:
    bot = await start_bot({"answer": "accept", "followBack": True}, tls[1])
    try:
        config = await bridge(True, bot.ready["handle"])
        me, handle = urls.actor_id(config.server.base_url, "blog"), f"blog.127.0.0.1-{free_port}.ap.brid.gy"
        follow = await bot.wait_for("Follow")  # verified by Fedify with the blog's key
        assert follow["actor"] == me and follow["activity"]["object"] == bot.ready["actor"]
        row = await until(lambda: OutboundFollow.filter(state=OutboundFollowState.ACCEPTED).first())
        assert (row.blog, row.handle, row.actor_uri, row.follow_id) == (
            "blog", bot.ready["handle"], bot.ready["actor"], follow["id"])
        assert row.follow_id.startswith(me + "#follows/")

        # The bot follows back (Bridgy Fed does), and the blog accepts it: what it posts reaches the bot.
        await bot.wait_for("Accept")
        assert (await Follower.get(blog="blog", actor_uri=bot.ready["actor"])).state is FollowState.ACCEPTED
        following_url = f"{config.server.base_url}/users/blog/following"
        async with aiohttp.ClientSession() as http, http.get(following_url, headers=AS2, ssl=False) as got:
            collection = await got.json(content_type=None)
        assert collection["totalItems"] == 1 and collection["orderedItems"] == [bot.ready["actor"]]

        [overview] = await admin_data.overview(config)
        assert overview.bluesky is not None
        assert (overview.bluesky.state, overview.bluesky.handle) == ("accepted", handle)
        follow_point, requirements = await bluesky_points(config, config.blogs[0])
        assert follow_point.ok and follow_point.required
        assert f"@{handle} (https://bsky.app/profile/{handle})" in follow_point.detail
        assert follow_point.notes == [f"{bot.ready['handle']} follows the blog back: its posts reach Bluesky"]
        # A blog with no picture, and keys made today: both of Bridgy Fed's requirements unmet, and said.
        assert not requirements.ok and not requirements.required
        assert "no profile picture" in requirements.detail and "0 days old" in requirements.detail

        # A restart with nothing changed queues nothing and sends nothing.
        jobs = await Job.all().count()
        config = await bridge(True, bot.ready["handle"])
        assert await enqueue_reconciles(config) == 0
        await asyncio.sleep(1)
        assert len(bot.received("Follow")) == 1 and await Job.all().count() == jobs
        # A reconcile run again anyway (a retried job) sends nothing either.
        ctx = JobContext(config=config, http=new_http_session(config))
        try:
            await reconcile_job(ReconcileBluesky("blog"), await enqueue(ReconcileBluesky("blog")), ctx)
        finally:
            await ctx.http.close()
        assert len([j for j in await Job.filter(kind=Deliver.KIND) if (j.payload.get("activity") or {}).get(
            "type") == "Follow"]) == 1

        # Opting out: the Undo of that Follow and a Block of the bot (Bridgy Fed's way out: it stops
        # bridging), the row gone, the bot no longer a follower, the following collection empty.
        assert await Follower.exists(blog="blog", actor_uri=bot.ready["actor"])  # it followed back
        config = await bridge(False, bot.ready["handle"], name="out.toml")
        undo = await bot.wait_for("Undo")
        assert undo["actor"] == me
        assert undo["activity"]["object"]["id"] == row.follow_id
        block = await bot.wait_for("Block")
        assert block["actor"] == me and block["activity"]["object"] == bot.ready["actor"]
        assert not await Follower.exists(blog="blog", actor_uri=bot.ready["actor"])
        assert await OutboundFollow.all().count() == 0
        assert await statuses(config) == {}
        assert not [line for line in bot.lines if "error" in line], bot.lines
    finally:
        await bot.close()


async def test_a_reject_is_recorded_and_not_asked_again(tls: tuple[ssl.SSLContext, Path],
                                                       bridge: Callable[..., Awaitable[Config]]) -> None:
    bot = await start_bot({"answer": "reject"}, tls[1])
    try:
        config = await bridge(True, bot.ready["handle"])
        await bot.wait_for("Follow")
        row = await until(lambda: OutboundFollow.filter(state=OutboundFollowState.REJECTED).first())
        assert row.answered_at is not None
        [point, _requirements] = await bluesky_points(config, config.blogs[0])
        assert not point.ok and "rejected the follow" in point.detail and "bluesky = false" in point.fix
        config = await bridge(True, bot.ready["handle"])  # a restart
        assert await enqueue_reconciles(config) == 0
        await asyncio.sleep(1)
        assert len(bot.received("Follow")) == 1
    finally:
        await bot.close()


async def test_two_reconciles_at_once_follow_once(tls: tuple[ssl.SSLContext, Path], write_config: Callable[..., Path],
                                                  database: Config) -> None:
    require_node_peers()
    bot = await start_bot({"answer": "accept"}, tls[1])
    try:
        extra = f'bluesky = true\n[bluesky]\nbridge_account = "{bot.ready["handle"]}"\n'
        config = load_config(write_config(extra, name="twice.toml"), env={})
        assert await enqueue_reconciles(config) == 1
        ctx = JobContext(config=config, http=new_http_session(config))
        try:
            job = await enqueue(ReconcileBluesky("blog"))
            await asyncio.gather(*(reconcile_job(ReconcileBluesky("blog"), job, ctx) for _ in range(3)))
            await reconcile_job(ReconcileBluesky("blog"), job, ctx)
        finally:
            await ctx.http.close()
        [row] = await OutboundFollow.all()
        follows = [j for j in await Job.filter(kind=Deliver.KIND) if j.payload["activity"]["type"] == "Follow"]
        assert [j.payload["activity"]["id"] for j in follows] == [row.follow_id]
        assert follows[0].payload["inbox"] == f"{bot.ready['actor']}/inbox"
        # The bot's handle changed in the config: the old follow is undone, the new account followed.
        moved = replace(config, bluesky=replace(config.bluesky, bridge_account="@other@127.0.0.1:9"))
        assert await enqueue_reconciles(moved) == 1
        ctx = JobContext(config=moved, http=new_http_session(moved))
        try:
            with pytest.raises(FetchError):  # nothing answers on port 9: retried as weather, the Undo queued first
                await reconcile_job(ReconcileBluesky("blog"), job, ctx)
        finally:
            await ctx.http.close()
        assert await OutboundFollow.all().count() == 0
        undos = [j for j in await Job.filter(kind=Deliver.KIND) if j.payload["activity"]["type"] == "Undo"]
        assert [j.payload["activity"]["object"]["id"] for j in undos] == [row.follow_id]
    finally:
        await bot.close()



async def test_a_stuck_follow_says_why(tls: tuple[ssl.SSLContext, Path], write_config: Callable[..., Path],
                                       database: Config) -> None:
    require_node_peers()
    bot = await start_bot({"answer": "accept"}, tls[1])
    try:
        nobody = bot.ready["handle"].replace("@bot@", "@nobody@")
        config = load_config(write_config(f'bluesky = true\n[bluesky]\nbridge_account = "{nobody}"\n',
                                          name="stuck.toml"), env={})
        ctx = JobContext(config=config, http=new_http_session(config))
        job = await enqueue(ReconcileBluesky("blog"))
        try:
            with pytest.raises(PermanentError, match="no account @nobody@") as failed:
                await reconcile_job(ReconcileBluesky("blog"), job, ctx)
        finally:
            await ctx.http.close()
        # The worker marks it dead with its error (bridge/jobs/worker.py): the status says why.
        await Job.filter(id=job.id).update(state=JobState.DEAD, last_error=f"PermanentError: {failed.value}")
        status = (await statuses(config))["blog"]
        assert status.state is None and status.problem is not None
        assert status.problem.startswith(f"following the bot gave up (job {job.id}): PermanentError: no account")
        [point, _requirements] = await bluesky_points(config, config.blogs[0])
        assert not point.ok and status.problem in point.notes

        # Pending, its Follow's delivery failing: said too, until it is delivered.
        row = await OutboundFollow.create(blog="blog", handle=nobody, actor_uri="https://x.example/u",
                                          follow_id="https://bridge.example/users/blog#follows/1")
        delivery = await Job.create(kind=Deliver.KIND, payload={}, run_after=datetime.now(UTC), attempts=2,
                                    last_error="DeliveryFailed: https://x.example/inbox answered 500",
                                    dedupe_key=f"follow:{row.follow_id}")
        status = (await statuses(config))["blog"]
        assert status.problem == (f"the Follow's delivery is retrying (job {delivery.id}): DeliveryFailed: "
                                  "https://x.example/inbox answered 500")
    finally:
        await bot.close()
