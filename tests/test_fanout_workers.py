"""Fan-out with real `bridge worker` processes and a follower server that verifies every
signature: after kill -9 in the middle of a fan-out and a restart, every inbox gets the
activity; two workers on one database never send one delivery twice at once."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge.config import Config
from bridge.jobs.kinds import ActorUpdate, Deliver
from bridge.jobs.store import enqueue
from bridge.keys import INSTANCE_ACTOR, active_key, ensure_keys
from bridge.models import Follower, Job, JobState
from bridge.signatures import Scheme
from tests.fedi import SEEN, Peer

from .procs import BridgeProcess, eventually

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]
QUEUE = "concurrency = 16\nlease_seconds = 3.0"
DELIVERY = "[delivery]\nper_host_concurrency = 8\n"


class Sink:
    """Followers' inboxes on one local server: each POST verified, counted, and how many
    deliveries to one inbox were in flight at once."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.received: Counter[str] = Counter()
        self.inflight: Counter[str] = Counter()
        self.max_inflight = 0
        self.unverified = 0

    def inbox(self, n: int) -> str:
        path = f"/users/u{n}/inbox"

        async def handle(request: web.Request) -> web.Response:
            self.inflight[path] += 1
            self.max_inflight = max(self.max_inflight, self.inflight[path])
            try:
                await asyncio.sleep(0.03)  # a real server takes a moment
                seen = request[SEEN]  # this request's record (seen[-1] may be another's by now)
                if seen.verified is not Scheme.CAVAGE:
                    self.unverified += 1
                    return web.Response(status=401)
                assert json.loads(seen.body)["type"] == "Update"
                self.received[path] += 1
                return web.Response(status=202)
            finally:
                self.inflight[path] -= 1

        self.peer.routes[path] = handle
        return self.peer.url(path)


@pytest.fixture
async def sink(database: Config) -> AsyncIterator[Sink]:
    await ensure_keys(["blog", INSTANCE_ACTOR])  # before the workers start: the sink knows the key
    peer = await Peer.start(verify_with=(await active_key("blog")).public_pem)
    try:
        yield Sink(peer)
    finally:
        await peer.close()


async def followers(sink: Sink, count: int) -> None:
    await Follower.bulk_create([
        Follower(blog="blog", actor_uri=sink.peer.url(f"/users/u{n}"), inbox=sink.inbox(n)) for n in range(count)
    ])


def start(path: Path, cmd: list[str], env: dict[str, str], name: str) -> BridgeProcess:
    return BridgeProcess([*cmd, "-c", str(path), "worker"], env, path.with_name(f"{name}.log"))


async def _started(*workers: BridgeProcess) -> bool:
    return all("worker.start" in w.logs() for w in workers)


async def test_kill_9_during_a_fan_out_and_restart_serves_every_inbox(
    write_config: Any, bridge_cmd: list[str], bridge_env: dict[str, str], sink: Sink
) -> None:
    path = write_config(DELIVERY, queue=QUEUE)
    await followers(sink, 300)
    victim = start(path, bridge_cmd, bridge_env, "victim")
    survivor: BridgeProcess | None = None
    try:
        await eventually(lambda: _started(victim), 60, "the worker to start")
        await enqueue(ActorUpdate("blog", "test"))

        async def some_delivered() -> bool:
            return sum(sink.received.values()) >= 30

        await eventually(some_delivered, 60, "30 deliveries")
        victim.signal(signal.SIGKILL)
        assert await victim.wait(10) == -signal.SIGKILL
        cut_off = sum(sink.received.values())
        assert cut_off < 300, "killed before the fan-out was over"
        survivor = start(path, bridge_cmd, bridge_env, "survivor")

        async def all_served() -> bool:
            return len(sink.received) == 300

        await eventually(all_served, 120, "every inbox to be served")
    finally:
        victim.kill()
        if survivor is not None:
            survivor.kill()
    assert sink.unverified == 0
    assert await Job.filter(kind=Deliver.KIND).count() == 300  # one delivery job per inbox, no more


async def test_two_workers_share_a_fan_out_and_never_send_one_delivery_twice_at_once(
    write_config: Any, bridge_cmd: list[str], bridge_env: dict[str, str], sink: Sink
) -> None:
    path = write_config(DELIVERY, queue="concurrency = 16")
    await followers(sink, 400)
    workers = [start(path, bridge_cmd, bridge_env, f"w{i}") for i in range(2)]
    try:
        await eventually(lambda: _started(*workers), 60, "both workers to start")
        await enqueue(ActorUpdate("blog", "test"))

        async def all_done() -> bool:
            return await Job.filter(kind=Deliver.KIND, state=JobState.DONE).count() == 400

        await eventually(all_done, 120, "400 deliveries")
        for w in workers:
            w.signal(signal.SIGTERM)
        assert [await w.wait(30) for w in workers] == [0, 0]
    finally:
        for w in workers:
            w.kill()
    assert sink.unverified == 0 and sink.max_inflight == 1
    assert len(sink.received) == 400 and set(sink.received.values()) == {1}, "each inbox exactly once"
    assert await Job.filter(kind=Deliver.KIND, attempts=1).count() == 400
    assert all("job.done kind=deliver" in w.logs() for w in workers), "both workers delivered"
