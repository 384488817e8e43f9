"""The fan-out with 1 and with 2 `bridge worker` processes on one PostgreSQL database:
deliveries per second, and proof that no delivery was sent twice at the same time.

- setup (for each worker count, each run): the database emptied and migrated, FOLLOWERS
  followers on INBOXES shared inboxes served by the verifying sink (bench/benchlib.py);
- bridge: N real `bridge worker` processes (the CLI, log level warning), started and
  connected before the clock starts; one `deliver.actor_update` job enqueued; timed until
  the sink has verified every inbox. The sink counts a request for an inbox that arrives
  while another for the same inbox is being answered ("concurrent": must be 0) and
  inboxes delivered more than once ("repeated");
- ceiling: the same signed POSTs from a bare aiohttp client signing in a thread pool,
  measured before and after (mean).
On this 2-core machine the processes share the cores with the sink, the database and
each other: 2 workers cannot double the rate here; across machines they would.

Run: python bench/scaleout.py [--database postgres://postgres@127.0.0.1:5432/bench_perf]
     [--followers 50000 --inboxes 5000] [--runs 3]   (the database is emptied first)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
from benchlib import ROOT, Sink, free_port, machine, print_json_line, spread, stop, write_config  # noqa: E402
from fanout import TUNED_CONCURRENCY as CONCURRENCY  # noqa: E402
from fanout import ceiling  # noqa: E402


async def prepare(url: str, tmp: Path, followers: int, inboxes: int) -> None:
    """Child process: empty and fill the database; print the blog's public key (JSON)."""
    from benchlib import add_followers, empty_postgres

    from bridge import db
    from bridge.config import load_config
    from bridge.keys import INSTANCE_ACTOR, active_key, ensure_keys

    await empty_postgres(url)
    config = load_config(tmp / "config.toml", env={})
    await db.migrate(config.database)
    await ensure_keys(["blog", INSTANCE_ACTOR])
    inbox = (tmp / "inbox").read_text()
    await add_followers("blog", followers, inboxes, inbox)
    print(json.dumps({"public_pem": (await active_key("blog")).public_pem}))
    await db.close_db()


async def connections_to(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        await conn.close()


async def enqueue_update(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO jobs (kind, payload, state, attempts, run_after, created_at, updated_at) "
            "VALUES ('deliver.actor_update', $1::jsonb, 'queued', 0, now(), now(), now())",
            json.dumps({"actor": "blog", "reason": "bench"}))
    finally:
        await conn.close()


async def one_run(url: str, workers: int, followers: int, inboxes: int) -> dict[str, Any]:
    from bridge.net.signed import SIGNING_THREADS
    from bridge.signatures import SigningKey

    tmp = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    # The blog's own address is a closed port: the workers' poll scheduler fails fast, offline.
    path = write_config(tmp, url, concurrency=CONCURRENCY, blog_url="http://127.0.0.1:9/")
    sink_proc = None
    try:
        port = free_port()
        (tmp / "inbox").write_text(f"http://127.0.0.1:{port}/inbox/{{n}}")
        prepared = subprocess.run([sys.executable, __file__, "--prepare", url, str(tmp), str(followers), str(inboxes)],
                                  stdout=subprocess.PIPE, check=True, text=True)
        public_pem = json.loads(prepared.stdout.strip().splitlines()[-1])["public_pem"]
        sink_proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "benchlib.py"), "--sink", str(port)],
                                     stdin=subprocess.PIPE)
        assert sink_proc.stdin is not None
        sink_proc.stdin.write(public_pem.encode())
        sink_proc.stdin.close()
        sink = Sink(port)
        key_id, private_pem, probe_text = json.loads(subprocess.run(
            [sys.executable, __file__, "--key", str(path)], stdout=subprocess.PIPE, check=True, text=True).stdout)
        key, probe_body = SigningKey(key_id, private_pem), probe_text.encode()
        async with aiohttp.ClientSession() as probe:
            await sink.ready(probe)
            before = await ceiling(sink, key, probe_body, inboxes, SIGNING_THREADS)
            await sink.reset(probe)
            base = await connections_to(url)
            env = {**os.environ, "BRIDGE_CONFIG": str(path)}
            procs = [subprocess.Popen([sys.executable, "-m", "bridge", "worker"], env=env, cwd=ROOT) for _ in range(workers)]
            try:
                while await connections_to(url) < base + workers:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.5)  # connected: let each start its worker loop
                started = time.time()
                await enqueue_update(url)
                ended = await sink.wait_for(probe, inboxes)
                await asyncio.sleep(1.0)  # a late twin would show now
                counted = await sink.counts(probe)
            finally:
                for proc in procs:
                    stop(proc)
            await sink.reset(probe)
            after = await ceiling(sink, key, probe_body, inboxes, SIGNING_THREADS)
    finally:
        if sink_proc is not None:
            stop(sink_proc)
    seconds = ended - started
    top = inboxes / ((before[0] + after[0]) / 2)
    return {"workers": workers, "seconds": seconds, "rate": inboxes / seconds, "ceiling": top,
            "ratio": inboxes / seconds / top, "verified": counted["verified"], "refused": counted["refused"],
            "repeated": counted["repeated"], "concurrent": counted["concurrent"]}


async def signing_key_of(path: str) -> None:
    from bridge import db
    from bridge.config import load_config
    from bridge.keys import signing_key
    from bridge.publish.delivery import activity_body
    from bridge.publish.documents import actor_document

    config = load_config(Path(path), env={})
    await db.open_db(config.database)
    key = await signing_key(config.server.base_url, "blog")
    # The ceiling's body: the same Update of the actor the workers send (its id aside).
    doc = await actor_document(config.server.base_url, config.blog("blog"))
    body = activity_body({"@context": doc["@context"], "id": doc["id"] + "#updates/bench", "type": "Update",
                          "actor": doc["id"], "object": {k: v for k, v in doc.items() if k != "@context"}})
    print(json.dumps([key.key_id, key.private_pem, body.decode()]))
    await db.close_db()


async def main(url: str, followers: int, inboxes: int, runs: int) -> None:
    print(f"machine: {machine()} (shared with other work: absolute figures wobble, ratios less)")
    print(f"PostgreSQL; {followers} followers on {inboxes} shared inboxes; `bridge worker` processes, "
          f"queue and delivery concurrency {CONCURRENCY} each")
    results: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for run in range(runs):
        for workers in (1, 2):
            r = await one_run(url, workers, followers, inboxes)
            results[workers].append(r)
            print(f"  run {run + 1}, {workers} worker(s): {r['rate']:.0f} deliveries/s ({r['seconds']:.2f} s), ceiling "
                  f"{r['ceiling']:.0f}/s, ratio {r['ratio']:.2f}; verified {r['verified']}, refused {r['refused']}, "
                  f"repeated {r['repeated']}, sent twice at once {r['concurrent']}", flush=True)
    for workers, rs in results.items():
        def col(name: str) -> list[float]:
            return [r[name] for r in rs]

        print(f"{workers} worker(s): {spread(col('rate'), '{:.0f}')} deliveries/s; ceiling "
              f"{spread(col('ceiling'), '{:.0f}')}/s; ratio {spread(col('ratio'))}; sent twice at once: "
              f"{int(sum(col('concurrent')))}; repeated: {int(sum(col('repeated')))}")
        print_json_line("scaleout", {"workers": workers, "followers": followers, "inboxes": inboxes,
                                     "rate": statistics.median(col("rate")), "rates": col("rate"),
                                     "ceiling": statistics.median(col("ceiling")), "ratio": statistics.median(col("ratio")),
                                     "ratios": col("ratio"), "concurrent": int(sum(col("concurrent"))),
                                     "repeated": int(sum(col("repeated")))})
    one, two = (statistics.median([r["rate"] for r in results[w]]) for w in (1, 2))
    print(f"2 workers / 1 worker: {two / one:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--prepare":
        asyncio.run(prepare(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "--key":
        asyncio.run(signing_key_of(sys.argv[2]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/bench_perf")
    parser.add_argument("--followers", type=int, default=50_000)
    parser.add_argument("--inboxes", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("BRIDGE_CONFIG", None)
    asyncio.run(main(args.database, args.followers, args.inboxes, args.runs))
