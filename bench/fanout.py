"""One post to many followers: deliveries per second through the bridge's queue, next to the
ceiling of the same machine, measured in the same run.

For each size (10,000 followers on 1,000 shared inboxes; 100,000 on 10,000):
- setup: a database (SQLite file, or --database postgres://…, emptied first) migrated, keys
  made, the followers inserted, their shared inboxes all served by a sink;
- sink: another process serving every inbox on 127.0.0.1; it verifies each request's HTTP
  signature against the blog's public key and counts the verified ones (401 and counted
  apart when verification fails);
- bridge: its own process (so its peak memory is its own), running the queue Worker with the
  app's handlers and guarded HTTP client: one `deliver.actor_update` job (the same fan-out as
  a post's Create) → one delivery job per shared inbox, each signed when sent; timed from
  the enqueue until the sink has verified every inbox;
- ceiling: the same signed POSTs (same key, same body, signed as they leave in a pool of
  SIGNING_THREADS threads) from a bare aiohttp client at the same concurrency, no queue,
  no database.
Two configs (--config):
- defaults (the default): the bridge's config holds only what is required, so the queue,
  delivery and log settings are the shipped defaults (256 in flight, 8 per host, log level
  info, its lines to a file), and the inboxes live on many hosts as a real blog's followers
  do: the sink serves them on min(inboxes, HOSTS) loopback addresses (127.0.0.2, …), inbox
  n on host n mod that. The ceiling sends at delivery.concurrency's default (256).
- tuned: the earlier bench's config (queue and delivery concurrency 64, per host 64, a
  0.05 s poll, log level warning), every inbox on one host, the ceiling at 64.

Run: python bench/fanout.py [--database postgres://postgres@127.0.0.1:5432/bench_perf]
     [--sizes 10000:1000,100000:10000] [--runs 3] [--config defaults|tuned]
Also printed: the CPU of the event loop's thread beside the ceiling's, the CPU the local
PostgreSQL server spent during the bridge's run, and when the first delivery arrived.
Profiles of the bridge process: BENCH_PROFILE=out.txt (pyinstrument), BENCH_PYSPY=out.txt
(py-spy's collapsed stacks per thread, lower overhead), BENCH_LOG=1 (its log lines).
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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
from benchlib import (  # noqa: E402
    Sink,
    add_followers,
    empty_postgres,
    machine,
    peak_rss_mb,
    postgres_cpu_seconds,
    print_json_line,
    spread,
    start_worker,
    stop,
    write_config,
)

TUNED_CONCURRENCY = 64  # --config tuned
HOSTS = 1000  # --config defaults: the inboxes' hosts at most (loopback addresses in the sink)


# -- the bridge side, in its own process --------------------------------------------------

async def bridge_side(config_path: str, sink_port: int, expect: int) -> None:
    """Run the fan-out to the end in this process; print seconds and peak memory as JSON."""
    if os.environ.get("BENCH_LOG"):  # the bridge's log lines, with milliseconds since the start
        import logging

        logging.basicConfig(level=logging.INFO, format="%(relativeCreated)d %(message)s")
    from bridge import db
    from bridge.core.logs import setup_logging
    from bridge.config import load_config
    from bridge.jobs.kinds import ActorUpdate
    from bridge.jobs.store import enqueue

    config = load_config(Path(config_path), env={})
    if not os.environ.get("BENCH_LOG"):
        setup_logging(config.log.level)  # as the daemon (its stderr goes to a file): its lines cost what they cost
    worker, running, session = await start_worker(config)
    sink = Sink(sink_port)
    async with aiohttp.ClientSession() as probe:
        await asyncio.sleep(0.2)  # the worker is polling
        cpu = time.process_time()
        main_cpu = time.thread_time()
        started = time.time()  # the sink's clock: the same machine
        await enqueue(ActorUpdate("blog", "bench"))
        ended = await sink.wait_for(probe, expect)
        cpu = time.process_time() - cpu
        main_cpu = time.thread_time() - main_cpu
    worker.stop()
    await running
    await session.close()
    await db.close_db()
    from bridge.core import metrics

    runs = {outcome: int(metrics.JOBS.value(kind="deliver.actor_update" if outcome == "fanout" else "deliver",
                                            outcome="done" if outcome == "fanout" else outcome))
            for outcome in ("done", "retry", "deferred")}
    print(json.dumps({"started": started, "seconds": ended - started, "cpu_seconds": cpu, "job_runs": runs,
                      "main_cpu_seconds": main_cpu, "peak_rss_mb": peak_rss_mb()}), flush=True)


# -- one measured run ---------------------------------------------------------------------

async def ceiling(sink: Sink, key: Any, body: bytes, n: int, threads: int,
                  concurrency: int = TUNED_CONCURRENCY) -> tuple[float, float, float]:
    """Seconds, CPU seconds of this process and of its event loop's thread, for `n` signed
    POSTs from a bare aiohttp client, signing in a thread pool."""
    from bridge.signatures import HttpRequest, Scheme, sign_request

    pool = ThreadPoolExecutor(max_workers=threads)
    loop = asyncio.get_running_loop()
    todo = iter(range(n))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as bare:
        async def sender() -> None:
            for i in todo:
                target = sink.url(i)
                request = HttpRequest.of("POST", target, {"Content-Type": "application/activity+json"}, body)
                headers = await loop.run_in_executor(
                    pool, lambda: sign_request(request, key, datetime.now(UTC), Scheme.CAVAGE))
                async with bare.post(target, data=body, headers=headers) as response:
                    assert response.status == 202, response.status

        cpu = time.process_time()
        main_cpu = time.thread_time()
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        main_cpu = time.thread_time() - main_cpu
    pool.shutdown()
    return seconds, cpu, main_cpu


async def one_run(database: str, followers: int, inboxes: int, defaults: bool) -> dict[str, Any]:
    from bridge import db
    from bridge.config import load_config
    from bridge.keys import INSTANCE_ACTOR, active_key, ensure_keys, signing_key
    from bridge.models import Job, OutboundActivity
    from bridge.net.signed import SIGNING_THREADS
    from bridge.publish.delivery import activity_body
    from bridge.publish.documents import actor_document

    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    url = database if database != "sqlite" else f"sqlite://{tmp / 'bench.db'}"
    if url.startswith("postgres"):
        await empty_postgres(url)
    path = write_config(tmp, url, concurrency=None if defaults else TUNED_CONCURRENCY)
    config = load_config(path, env={})
    hosts = min(inboxes, HOSTS) if defaults else 1
    top_concurrency = config.delivery.concurrency
    await db.migrate(config.database)
    await ensure_keys(["blog", INSTANCE_ACTOR])
    sink_proc, sink = Sink.start((await active_key("blog")).public_pem, hosts)
    await add_followers("blog", followers, inboxes, sink.url)
    try:
        async with aiohttp.ClientSession() as probe:
            await sink.ready(probe)
            key = await signing_key(config.server.base_url, "blog")
            # The same Update of the actor the bridge will send (its id aside).
            doc = await actor_document(config.server.base_url, config.blog("blog"))
            probe_body = activity_body({"@context": doc["@context"], "id": doc["id"] + "#updates/bench", "type": "Update",
                                        "actor": doc["id"], "object": {k: v for k, v in doc.items() if k != "@context"}})
            # The ceiling before and after the bridge: the load of a shared machine drifts.
            before = await ceiling(sink, key, probe_body, inboxes, SIGNING_THREADS, top_concurrency)
            await sink.reset(probe)
            command = [sys.executable, __file__, "--bridge", str(path), str(sink.port), str(inboxes)]
            if os.environ.get("BENCH_PYSPY"):  # py-spy's collapsed stacks of the bridge process (low overhead)
                command = ["py-spy", "record", "--nonblocking", "--threads", "-r", "500", "-f", "raw", "-o",
                           os.environ["BENCH_PYSPY"], "--", *command]
            db_cpu = postgres_cpu_seconds()
            with open(tmp / "bridge.log", "w") as log:  # noqa: ASYNC230 (before the measured run)
                bridge = subprocess.run(command, stdout=subprocess.PIPE, stderr=log, check=True, text=True)
            measured = json.loads(bridge.stdout.strip().splitlines()[-1])
            db_cpu = postgres_cpu_seconds() - db_cpu if url.startswith("postgres") else 0.0
            await asyncio.sleep(0.5)  # stragglers (a delivery sent twice) would show now
            counted = await sink.counts(probe)
            jobs = await Job.filter(kind="deliver").count()
            await sink.reset(probe)
            row = await OutboundActivity.first()
            assert row is not None
            body = activity_body(row.body)
            after = await ceiling(sink, key, body, inboxes, SIGNING_THREADS, top_concurrency)
            assert (await sink.counts(probe))["verified"] == inboxes
    finally:
        stop(sink_proc)
        await db.close_db()
    ceiling_s = (before[0] + after[0]) / 2
    rate, top = inboxes / measured["seconds"], inboxes / ceiling_s
    return {"body_bytes": len(body), "cpu_ms": measured["cpu_seconds"] * 1000 / inboxes,
            "ceiling_cpu_ms": (before[1] + after[1]) * 1000 / 2 / inboxes,
            "loop_cpu_ms": measured["main_cpu_seconds"] * 1000 / inboxes,
            "ceiling_loop_cpu_ms": (before[2] + after[2]) * 1000 / 2 / inboxes,
            "db_cpu_ms": db_cpu * 1000 / inboxes, "first_ms": (counted["first_at"] - measured["started"]) * 1000,
            "followers": followers, "inboxes": inboxes, "hosts": hosts, "jobs": jobs, "verified": counted["verified"],
            "refused": counted["refused"], "repeated": counted["repeated"], "seconds": measured["seconds"],
            "rate": rate, "ceiling_seconds": ceiling_s, "ceiling": top, "ratio": rate / top,
            "peak_rss_mb": measured["peak_rss_mb"], "job_runs": measured["job_runs"]}


async def main(database: str, sizes: list[tuple[int, int]], runs: int, defaults: bool) -> None:
    kind = "sqlite" if database == "sqlite" else "postgres"
    print(f"machine: {machine()} (shared with other work: absolute figures wobble, ratios less)")
    from bridge.config import DeliveryConfig, QueueConfig

    settings = (f"the default config (queue.concurrency {QueueConfig().concurrency}, delivery.concurrency "
                f"{DeliveryConfig().concurrency}, per host {DeliveryConfig().per_host_concurrency}, log level info), "
                f"inboxes on up to {HOSTS} hosts" if defaults else
                f"tuned: concurrency {TUNED_CONCURRENCY}, every inbox on one host")
    print(f"database: {kind}, {settings}; the ceiling is measured before and after the bridge (mean of both)")
    for followers, inboxes in sizes:
        results = []
        for run in range(runs):
            r = await one_run(database, followers, inboxes, defaults)
            results.append(r)
            print(f"  run {run + 1}: {followers} followers, {inboxes} inboxes, jobs {r['jobs']}, verified "
                  f"{r['verified']}, refused {r['refused']}, repeated {r['repeated']}: bridge {r['seconds']:.2f} s "
                  f"{r['rate']:.0f}/s, peak {r['peak_rss_mb']:.0f} MB; ceiling {r['ceiling_seconds']:.2f} s "
                  f"{r['ceiling']:.0f}/s; ratio {r['ratio']:.2f}; CPU per delivery {r['cpu_ms']:.2f} ms "
                  f"(ceiling {r['ceiling_cpu_ms']:.2f} ms), of which the event loop's thread {r['loop_cpu_ms']:.2f} ms "
                  f"(ceiling {r['ceiling_loop_cpu_ms']:.2f} ms)" + (f", PostgreSQL {r['db_cpu_ms']:.2f} ms" if kind == "postgres" else "")
                  + f"; first delivery after {r['first_ms']:.0f} ms; delivery jobs' runs: "
                  + ", ".join(f"{k} {v}" for k, v in r["job_runs"].items() if k != "fanout"), flush=True)

        def col(name: str) -> list[float]:
            return [r[name] for r in results]

        print(f"{followers} followers / {inboxes} shared inboxes ({kind}):")
        print(f"  bridge:  {spread(col('rate'), '{:.0f}')} deliveries/s; time to last delivery "
              f"{spread(col('seconds'))} s; peak memory {spread(col('peak_rss_mb'), '{:.0f}')} MB")
        print(f"  ceiling: {spread(col('ceiling'), '{:.0f}')} signed POSTs/s (bare aiohttp, signing in a thread pool)")
        print(f"  ratio:   {spread(col('ratio'))}")
        print(f"  CPU per delivery in the sending process: bridge {spread(col('cpu_ms'))} ms, "
              f"ceiling {spread(col('ceiling_cpu_ms'))} ms")
        print_json_line("fanout", {"database": kind, "config": "defaults" if defaults else "tuned",
                                   "followers": followers, "inboxes": inboxes, "hosts": results[0]["hosts"],
                                   "rate": statistics.median(col("rate")), "rates": col("rate"),
                                   "seconds": statistics.median(col("seconds")), "ceiling": statistics.median(col("ceiling")),
                                   "ceilings": col("ceiling"), "ratio": statistics.median(col("ratio")),
                                   "ratios": col("ratio"), "peak_rss_mb": max(col("peak_rss_mb")),
                                   "cpu_ms": statistics.median(col("cpu_ms")),
                                   "ceiling_cpu_ms": statistics.median(col("ceiling_cpu_ms")),
                                   "loop_cpu_ms": statistics.median(col("loop_cpu_ms")),
                                   "ceiling_loop_cpu_ms": statistics.median(col("ceiling_loop_cpu_ms")),
                                   "db_cpu_ms": statistics.median(col("db_cpu_ms")),
                                   "first_ms": statistics.median(col("first_ms"))})


def sizes_arg(text: str) -> list[tuple[int, int]]:
    return [(int(f), int(i)) for f, i in (part.split(":") for part in text.split(","))]


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--bridge":
        profile = os.environ.get("BENCH_PROFILE")  # a pyinstrument text profile of the bridge process
        if profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="disabled") as profiler:
                asyncio.run(bridge_side(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
            Path(profile).write_text(profiler.output_text(show_all=os.environ.get("BENCH_PROFILE_ALL") == "1"))
        else:
            asyncio.run(bridge_side(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", help="sqlite (a temporary file) or a postgres:// URL")
    parser.add_argument("--sizes", type=sizes_arg, default=sizes_arg("10000:1000,100000:10000"),
                        help="followers:inboxes,… (default 10000:1000,100000:10000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--config", choices=["defaults", "tuned"], default="defaults",
                        help="defaults (the shipped config, inboxes on many hosts) or tuned (concurrency 64, one host)")
    args = parser.parse_args()
    os.environ.pop("BRIDGE_CONFIG", None)
    asyncio.run(main(args.database, args.sizes, args.runs, args.config == "defaults"))
