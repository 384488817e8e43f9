"""Remote inboxes that fail every way at once: 500, a hang, a reset, a status line that
trickles in, a 200 or a 500 followed by gigabytes. One worker (bridge/jobs/worker.py) runs the
deliveries: the good inbox is served, the 200-with-gigabytes one is done after reading a
bounded prefix, every other delivery stays queued with its error and none is lost; once
the servers heal (and the backoff has passed), every queued delivery is done."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from bridge.app import BUILTIN_HANDLERS, new_http_session
from bridge.config import Config, load_config
from bridge.core.clock import utcnow
from bridge.jobs.kinds import Deliver
from bridge.jobs.store import JobContext, enqueue
from bridge.jobs.worker import Worker
from bridge.keys import ensure_keys
from bridge.models import Job, JobState
from bridge.net.hosts import HostHealth
from tests.fedi import Peer

ACTIVITY = {"@context": "https://www.w3.org/ns/activitystreams", "id": "https://bridge.example/users/blog/posts/1/create",
            "type": "Create", "actor": "https://bridge.example/users/blog", "object": {"id": "https://bridge.example/users/blog/posts/1"}}
HEALED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class RawServer:
    """A TCP server that misbehaves below HTTP until healed."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.healed = False
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.healed:
                writer.write(HEALED)
                await writer.drain()
            elif self.mode == "reset":
                writer.transport.abort()
                return
            else:  # trickle: the status line one byte at a time, slower than any timeout allows
                for byte in b"HTTP/1.1 200 OK\r\n" * 20:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.2)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client gave up, or the test is over
        finally:
            writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/inbox"

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()


class Flood:
    """An aiohttp handler answering `status` and then up to 8 GB, counting what it got out."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.sent = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(status=self.status, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(8 * 1024 ** 3 // len(chunk)):
                await response.write(chunk)
                self.sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: what we want
        return response


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, Any]]:
    peer = await Peer.start()
    raw = {"reset": RawServer("reset"), "trickle": RawServer("trickle")}
    floods = {"flood200": Flood(200), "flood500": Flood(500)}
    urls = {name: await server.start() for name, server in raw.items()}

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(status=202)

    peer.serve("/good", b"", status=202)
    peer.serve("/e500", {"error": "boom"}, status=500)
    peer.routes["/hang"] = hang
    for name, flood in floods.items():
        peer.routes[f"/{name}"] = flood
    urls.update({name: peer.url(f"/{name}") for name in ("good", "e500", "hang", "flood200", "flood500")})
    try:
        yield {"peer": peer, "raw": raw, "floods": floods, "urls": urls}
    finally:
        for server in raw.values():
            await server.close()
        await peer.close()


async def test_every_failure_is_kept_and_done_once_the_inboxes_heal(write_config: Any, database: Config,
                                                                    servers: dict[str, Any]) -> None:
    config = load_config(write_config("[delivery]\ntimeout_seconds = 1.0\nper_host_concurrency = 8\n", queue="concurrency = 8\nretry_base_seconds = 60.0"),
                         env={})
    await ensure_keys(["blog"])
    urls: dict[str, str] = servers["urls"]
    jobs = {name: (await enqueue(Deliver("blog", url, activity=ACTIVITY))).id for name, url in urls.items()}
    async with new_http_session(config) as session:
        worker = Worker(config.queue, BUILTIN_HANDLERS, context=JobContext(config=config, http=session))
        await worker.run_once()
        state = {name: await Job.get(id=job_id) for name, job_id in jobs.items()}
        assert {n for n, j in state.items() if j.state is JobState.DONE} == {"good", "flood200"}
        for name in ("e500", "hang", "reset", "trickle", "flood500"):
            job = state[name]
            assert job.state is JobState.QUEUED and job.attempts == 1 and job.last_error, (name, job.last_error)
        assert "timeout" in (state["hang"].last_error or "") and "timeout" in (state["trickle"].last_error or "")
        # Bounded reads: of the 8 GB offered, what left the server before we hung up is small
        # (our prefix plus the socket buffers).
        for flood in servers["floods"].values():
            assert flood.sent < 64 * 1024 * 1024, flood.sent

        # The faults clear; the backoff passes.
        peer: Peer = servers["peer"]
        for name in ("e500", "hang", "flood500"):
            peer.serve(f"/{name}", b"", status=202)
        for raw in servers["raw"].values():
            raw.healed = True
        # A host whose last attempt failed gets one delivery at a time until it answers (issue
        # 19): the first delivery to it after healing is its probe; the ones deferred
        # meanwhile follow in the next rounds. The backoff passes for its cooling down too.
        worker.context.state(HostHealth).limits.clock = lambda: time.monotonic() + 3600
        for _ in range(4):
            await Job.filter(state=JobState.QUEUED).update(run_after=utcnow() - timedelta(seconds=1))
            await worker.run_once()
    final = {name: (await Job.get(id=job_id)).state for name, job_id in jobs.items()}
    assert final == {name: JobState.DONE for name in jobs}, final
    assert all(raw.requests >= 2 for raw in servers["raw"].values())
