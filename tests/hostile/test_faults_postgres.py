"""PostgreSQL restarted (crashed: `pg_ctl stop -m immediate`, then started again) in the
middle of a fan-out run by a real `bridge serve`, on a throwaway server of the test's own
(tests/hostile/throwaway_pg.py; the shared server is never touched).

After it: the daemon is still running and ready again, every follower's inbox got the
activity at least once, every delivery job is done, none is dead or stuck."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bridge import db
from bridge.config import load_config
from bridge.jobs.kinds import ActorUpdate, Deliver
from bridge.jobs.store import enqueue
from bridge.keys import INSTANCE_ACTOR, active_key, ensure_keys
from bridge.models import Follower, Job, JobState
from bridge.signatures import Scheme
from tests.fedi import SEEN, Peer
from tests.hostile.throwaway_pg import ThrowawayPostgres
from tests.procs import BridgeProcess, eventually

pytestmark = pytest.mark.slow
COUNT = 300


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    # tortoise caches each table's compiled INSERT per connection name, whatever the
    # dialect: in a suite run on SQLite this test's PostgreSQL would get `?` placeholders.
    EXECUTOR_CACHE.clear()
    server = ThrowawayPostgres().init()
    server.start()
    try:
        yield server
    finally:
        server.remove()
        EXECUTOR_CACHE.clear()  # and the next SQLite test would get `$1`


async def _ready(port: int) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
            return response.status


async def test_a_postgres_restart_mid_fan_out_loses_nothing(postgres: ThrowawayPostgres, tmp_path: Path, free_port: int,
                                                           bridge_cmd: list[str], bridge_env: dict[str, str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[server]
base_url = "https://bridge.example"
listen = "127.0.0.1:{free_port}"
[database]
url = "{postgres.url}"
[security]
allow_private_addresses = true
[queue]
poll_seconds = 0.2
concurrency = 16
lease_seconds = 3.0
retry_base_seconds = 1.0
retry_max_seconds = 2.0
[delivery]
per_host_concurrency = 8
[[blogs]]
name = "blog"
url = "http://127.0.0.1:9/"
""", encoding="utf-8")
    config = load_config(path, env={})
    await db.migrate(config.database)
    await ensure_keys(["blog", INSTANCE_ACTOR])
    peer = await Peer.start(verify_with=(await active_key("blog")).public_pem)
    received: Counter[str] = Counter()

    async def inbox(request: web.Request) -> web.Response:
        await asyncio.sleep(0.03)
        seen = request[SEEN]  # this request's record (seen[-1] may be another's by now)
        if seen.verified is not Scheme.CAVAGE or json.loads(seen.body)["type"] != "Update":
            return web.Response(status=401)
        received[request.path] += 1
        return web.Response(status=202)

    for n in range(COUNT):
        peer.routes[f"/users/u{n}/inbox"] = inbox
    await Follower.bulk_create([Follower(blog="blog", actor_uri=peer.url(f"/users/u{n}"),
                                         inbox=peer.url(f"/users/u{n}/inbox")) for n in range(COUNT)])
    await db.close_db()  # this process stays off the server while it restarts

    daemon = BridgeProcess([*bridge_cmd, "-c", str(path), "serve"], bridge_env, tmp_path / "serve.log")
    try:
        await daemon.wait_http(f"http://127.0.0.1:{free_port}/healthz")
        await db.open_db(config.database)
        await enqueue(ActorUpdate.from_payload({"actor": "blog", "reason": "test"}))
        await db.close_db()

        async def some() -> bool:
            return sum(received.values()) >= 40

        await eventually(some, 60, "40 deliveries")
        postgres.crash()
        assert await _ready(free_port) == 503  # the daemon notices, and keeps serving
        await asyncio.sleep(1)
        postgres.start()
        cut_off = sum(received.values())

        async def ready() -> bool:
            return await _ready(free_port) == 200

        await eventually(ready, 60, "the daemon to be ready again")

        async def all_served() -> bool:
            return len(received) == COUNT

        await eventually(all_served, 120, "every inbox to be served")
        await db.open_db(config.database)

        async def drained() -> bool:
            return not await Job.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).exists()

        await eventually(drained, 60, "the queue to drain")
        assert daemon.proc.poll() is None, "the daemon died"
        assert cut_off < COUNT, "the restart came after the fan-out"
        assert await Job.filter(kind=Deliver.KIND).count() == COUNT
        assert await Job.filter(kind=Deliver.KIND, state=JobState.DONE).count() == COUNT
        assert not await Job.filter(state=JobState.DEAD).exists()
    finally:
        daemon.signal(signal.SIGTERM)
        await daemon.wait(30)
        await db.close_db()
        await peer.close()
