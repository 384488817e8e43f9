"""One post to 10,000 followers on 1,000 shared inboxes: deliveries per second through the
queue, next to the ceiling of the same machine.

- setup: a database (SQLite file, or --database postgres://…) migrated, keys made,
  10,000 accepted followers whose shared inboxes are 1,000 distinct URLs on a sink;
- sink: another process (this file with --sink) serving every inbox on 127.0.0.1; it
  verifies each request's HTTP signature against the blog's public key and counts the
  verified ones (a request that fails verification is answered 401 and counted apart);
- bridge: one `deliver.actor_update` job (the same fan-out as a post's Create) run by an
  in-process queue Worker with the app's guarded HTTP client: fan-out to 1,000 delivery
  jobs, each signed when sent; timed from enqueue until the sink has verified 1,000;
- ceiling: the same 1,000 signed POSTs (signed one by one as they leave, same key, same
  body size) from a bare aiohttp client, same concurrency, no queue and no database.
All inboxes are on one host here, so `delivery.per_host_concurrency` is set to the
global `delivery.concurrency` (with real followers they spread over many hosts).

Run: python bench/fanout.py [--database postgres://postgres@127.0.0.1:5432/bench]
(the PostgreSQL database is emptied first: name one that holds nothing else)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

FOLLOWERS, INBOXES, CONCURRENCY = 10_000, 1_000, 64


# -- the sink (its own process) --------------------------------------------------------------

def run_sink(port: int, public_pem: str) -> None:
    from bridge.signatures import HttpRequest, verify

    counts = {"verified": 0, "refused": 0}

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        signed = HttpRequest.of("POST", f"http://{request.host}{request.raw_path}", list(request.headers.items()), body)
        verdict = verify(signed, public_pem, __import__("datetime").datetime.now(__import__("datetime").UTC))
        if hasattr(verdict, "reason"):
            counts["refused"] += 1
            return web.Response(status=401)
        counts["verified"] += 1
        return web.Response(status=202)

    async def count(request: web.Request) -> web.Response:
        return web.json_response(counts)

    async def reset(request: web.Request) -> web.Response:
        counts.update(verified=0, refused=0)
        return web.json_response(counts)

    app = web.Application()
    app.router.add_post("/inbox/{n}", inbox)
    app.router.add_get("/count", count)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the bridge side -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sink_count(session: aiohttp.ClientSession, port: int) -> dict[str, int]:
    async with session.get(f"http://127.0.0.1:{port}/count") as response:
        return await response.json()  # type: ignore[no-any-return]


async def wait_for(session: aiohttp.ClientSession, port: int, n: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while (await sink_count(session, port))["verified"] < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {await sink_count(session, port)}")
        await asyncio.sleep(0.02)


async def main(database: str) -> None:
    from bridge import db
    from bridge.app import BUILTIN_HANDLERS, new_http_session
    from bridge.config import load_config
    from bridge.keys import ACTOR_UPDATE_JOB, INSTANCE_ACTOR, active_key, ensure_keys, signing_key
    from bridge.models import Follower, Job, OutboundActivity
    from bridge.queue import JobContext, Worker, enqueue
    from bridge.signatures import HttpRequest, Scheme, sign_request

    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    url = database if database != "sqlite" else f"sqlite://{tmp / 'bench.db'}"
    if url.startswith("postgres"):
        import asyncpg

        conn = await asyncpg.connect(url)
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        await conn.close()
    path = tmp / "config.toml"
    path.write_text(f"""[server]\nbase_url = "https://bridge.example"\n[database]\nurl = "{url}"\n
[security]\nallow_private_addresses = true\n[log]\nlevel = "warning"\n
[queue]\nconcurrency = {CONCURRENCY}\npoll_seconds = 0.05\n
[delivery]\nconcurrency = {CONCURRENCY}\nper_host_concurrency = {CONCURRENCY}\n
[[blogs]]\nname = "blog"\nurl = "https://blog.example/"\n""")
    config = load_config(path, env={})
    await db.migrate(config.database)
    await ensure_keys(["blog", INSTANCE_ACTOR])
    public_pem = (await active_key("blog")).public_pem
    port = free_port()
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port)], stdin=subprocess.PIPE)
    assert sink.stdin is not None
    sink.stdin.write(public_pem.encode())
    sink.stdin.close()
    inbox = f"http://127.0.0.1:{port}/inbox/{{n}}"
    await Follower.bulk_create([
        Follower(blog="blog", actor_uri=f"https://h{n % INBOXES}.example/users/u{n}",
                 inbox=f"https://h{n % INBOXES}.example/users/u{n}/inbox", shared_inbox=inbox.format(n=n % INBOXES))
        for n in range(FOLLOWERS)
    ], batch_size=1000)
    try:
        async with aiohttp.ClientSession() as probe:
            for _ in range(200):
                try:
                    await sink_count(probe, port)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)

            # The bridge: queue, fan-out, deliveries.
            session = new_http_session(config)
            worker = Worker(config.queue, BUILTIN_HANDLERS, context=JobContext(config=config, http=session))
            running = asyncio.create_task(worker.run())
            started = time.perf_counter()
            await enqueue(ACTOR_UPDATE_JOB, {"actor": "blog", "reason": "bench"})
            await wait_for(probe, port, INBOXES)
            bridge_s = time.perf_counter() - started
            worker.stop()
            await running
            await session.close()
            jobs = await Job.filter(kind="deliver").count()
            counted = await sink_count(probe, port)

            # The ceiling: the same signed POSTs, no queue, no database.
            await probe.post(f"http://127.0.0.1:{port}/reset")
            key = await signing_key(config.server.base_url, "blog")
            body = json.dumps((await OutboundActivity.first()).body).encode()  # type: ignore[union-attr]
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(INBOXES):
                queue.put_nowait(n)

            async with aiohttp.ClientSession() as bare:
                async def sender() -> None:
                    while not queue.empty():
                        target = inbox.format(n=queue.get_nowait())
                        headers = sign_request(HttpRequest.of("POST", target, {"Content-Type": "application/activity+json"}, body),
                                               key, __import__("datetime").datetime.now(__import__("datetime").UTC), Scheme.CAVAGE)
                        async with bare.post(target, data=body, headers=headers) as response:
                            assert response.status == 202, response.status

                started = time.perf_counter()
                await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
                ceiling_s = time.perf_counter() - started
            assert (await sink_count(probe, port))["verified"] == INBOXES
    finally:
        sink.terminate()
        sink.wait()
        await db.close_db()
    rate, ceiling = INBOXES / bridge_s, INBOXES / ceiling_s
    print(f"database: {'sqlite' if url.startswith('sqlite') else 'postgres'}")
    print(f"followers: {FOLLOWERS}, shared inboxes: {INBOXES}, delivery jobs: {jobs}, "
          f"verified by the sink: {counted['verified']}, refused: {counted['refused']}")
    print(f"bridge:  {bridge_s:6.2f} s  {rate:7.0f} deliveries/s (fan-out + queue + signing + sending)")
    print(f"ceiling: {ceiling_s:6.2f} s  {ceiling:7.0f} signed POSTs/s (bare aiohttp, no queue, no database)")
    print(f"ratio:   {rate / ceiling:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", help="sqlite (a temporary file) or a postgres:// URL")
    parser.add_argument("--sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink, sys.stdin.read())
    else:
        os.environ.pop("BRIDGE_CONFIG", None)
        asyncio.run(main(args.database))
