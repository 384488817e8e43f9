"""kill -9 of a real `bridge serve` while it is taking in and processing follows.

A sender in this process posts signed Follows from 120 accounts of a real local peer
(their actor documents served there; their inboxes answer Accepts slowly, so the kill
lands while work is under way). After some Accepts arrived the daemon is killed with
SIGKILL and started again, and the sender carries on, sending again whatever got no
answer (as a fediverse server retries). Then: every Follow answered 202 is stored once,
its job done, its follower stored, and its Accept delivered at least once; a Follow
that got no 202 was sent again and is accepted too; no half-written state (each
follower has exactly one Accept delivery job)."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bridge.config import Config
from bridge.jobs.kinds import Deliver, ProcessInbox
from bridge.keys import INSTANCE_ACTOR, ensure_keys
from bridge.models import Follower, InboxActivity, Job, JobState
from bridge.signatures import Scheme, SigningKey
from tests.fedi import Peer, keypair, signed_headers
from tests.procs import BridgeProcess, eventually

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("database")]
PUBLIC = "https://bridge.example"
COUNT = 120


class Followers:
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.private, public = keypair("crowd")
        self.accepts: dict[str, int] = {}
        for n in range(COUNT):
            peer.actor(f"u{n}", public)
            peer.routes[f"/users/u{n}/inbox"] = self._inbox

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(0.05)  # a real server takes a moment
        if body.get("type") == "Accept":
            follower = body["object"]["actor"]
            self.accepts[follower] = self.accepts.get(follower, 0) + 1
        return web.Response(status=202)

    def follow(self, n: int) -> tuple[bytes, dict[str, str]]:
        actor = self.peer.url(f"/users/u{n}")
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/follows/1",
                           "type": "Follow", "actor": actor, "object": f"{PUBLIC}/users/blog"}).encode()
        key = SigningKey(f"{actor}#main-key", self.private)
        return body, signed_headers("POST", f"{PUBLIC}/users/blog/inbox", body, key, datetime.now(UTC), Scheme.CAVAGE)


async def send_until_accepted(port: int, crowd: Followers, accepted: set[int], pending: list[int]) -> None:
    """Send each pending Follow once; those answered 202 move to `accepted`."""
    async with aiohttp.ClientSession() as session:
        for n in list(pending):
            body, headers = crowd.follow(n)
            try:
                async with session.post(f"http://127.0.0.1:{port}/users/blog/inbox", data=body, headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=10)) as response:
                    if response.status == 202:
                        accepted.add(n)
                        pending.remove(n)
                    else:
                        assert response.status >= 500, await response.text()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                await asyncio.sleep(0.05)  # the daemon is down: try again later


async def test_kill_9_during_inbox_processing_loses_nothing(write_config: Any, free_port: int, bridge_cmd: list[str],
                                                            bridge_env: dict[str, str], database: Config) -> None:
    await ensure_keys(["blog", INSTANCE_ACTOR])
    peer = await Peer.start()
    crowd = Followers(peer)
    path = write_config("[delivery]\nper_host_concurrency = 8\n", port=free_port,
                        queue="concurrency = 8\nlease_seconds = 3.0\nretry_base_seconds = 1.0")
    cmd = [*bridge_cmd, "-c", str(path), "serve"]
    accepted: set[int] = set()
    pending = list(range(COUNT))
    first = BridgeProcess(cmd, bridge_env, path.with_name("first.log"))
    second: BridgeProcess | None = None
    try:
        await first.wait_http(f"http://127.0.0.1:{free_port}/healthz")
        sending = asyncio.create_task(send_until_accepted(free_port, crowd, accepted, pending))

        async def some_accepts() -> bool:
            return len(crowd.accepts) >= 15

        await eventually(some_accepts, 60, "15 Accepts")
        first.signal(signal.SIGKILL)
        assert await first.wait(10) == -signal.SIGKILL
        await sending
        cut_off = len(crowd.accepts)
        assert cut_off < COUNT, "killed after the work was over"
        second = BridgeProcess(cmd, bridge_env, path.with_name("second.log"))
        await second.wait_http(f"http://127.0.0.1:{free_port}/healthz")
        while pending:
            await send_until_accepted(free_port, crowd, accepted, pending)

        async def all_accepted() -> bool:
            return len(crowd.accepts) == COUNT

        await eventually(all_accepted, 120, "an Accept for every follower")
        async def settled() -> bool:
            return not await Job.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).exists()

        await eventually(settled, 60, "the queue to drain")
    finally:
        first.kill()
        if second is not None:
            second.kill()
        await peer.close()
    assert accepted == set(range(COUNT))
    assert await InboxActivity.all().count() == COUNT  # each Follow stored once, redeliveries included
    assert await Job.filter(kind=ProcessInbox.KIND).count() == COUNT
    assert await Job.filter(kind=ProcessInbox.KIND, state=JobState.DONE).count() == COUNT
    followers = await Follower.filter(blog="blog").count()
    assert followers == COUNT
    assert await Job.filter(kind=Deliver.KIND).count() == COUNT  # one Accept delivery per follower, no half-writes
    assert await Job.filter(kind=Deliver.KIND, state=JobState.DONE).count() == COUNT
    assert not await Job.filter(state=JobState.DEAD).exists()
    assert "Traceback" not in (first.logs() + second.logs() if second else first.logs())
