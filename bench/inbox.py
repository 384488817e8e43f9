"""Signed activities accepted per second by the shared inbox of a real `bridge serve`, next to
the ceiling of the same machine, measured in the same run.

- setup: SIGNERS remote actors whose keys the bridge already holds (as after their first
  request); REQUESTS `Like` activities, each signed (draft-cavage, RSA 2048) by one of them
  before the clock starts, with distinct ids;
- load: another process sends them all to POST /inbox at CONCURRENCY at once and times each;
- bridge: `bridge serve --no-workers` (the real app: body cap, JSON checks, signature and
  authorisation, the activity stored with its job before 202), log level warning;
  every request must get 202 and every activity must be in the database afterwards;
- ceiling: a bare aiohttp handler in its own process verifying the same signatures with
  cached keys (bridge/signatures/__init__.py) and committing one row per request with plain
  aiosqlite, WAL and synchronous=FULL like the bridge; measured before and after the
  bridge (the mean of both: the load of a shared machine drifts).

Run: python bench/inbox.py [--database sqlite] [--database postgres://postgres@127.0.0.1:5432/bench_perf]
     [--requests 5000] [--runs 3]   (the PostgreSQL database is emptied first)
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from benchlib import ROOT, empty_postgres, free_port, machine, print_json_line, spread, stop, write_config  # noqa: E402

SIGNERS, CONCURRENCY = 20, 64
PUBLIC = "https://bridge.example/inbox"


# -- the load (its own process) -------------------------------------------------------------

async def load(url: str, requests_file: str) -> None:
    """Send every pre-signed request; print seconds, statuses and latency percentiles as JSON."""
    requests = json.loads(Path(requests_file).read_text())
    todo = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def sender() -> None:
            for headers, body in todo:
                started = time.perf_counter()
                async with session.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    latencies.sort()
    print(json.dumps({"seconds": seconds, "statuses": statuses, "p50_ms": latencies[len(latencies) // 2] * 1000,
                      "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}))


def run_load(port: int, requests_file: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--load", f"http://127.0.0.1:{port}/inbox", str(requests_file)],
                          stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- the ceiling (its own process) ----------------------------------------------------------

def run_ceiling(port: int, db_path: str, keys_file: str) -> None:
    import aiosqlite

    from bridge.signatures import HttpRequest, Rejection, check_signature, inspect_signature

    keys: dict[str, str] = json.loads(Path(keys_file).read_text())

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"] + [("Host", "bridge.example")]
        candidate = inspect_signature(HttpRequest.of("POST", PUBLIC, headers, body), datetime.now(UTC))
        if isinstance(candidate, Rejection) or isinstance(check_signature(candidate, keys[candidate.key_id]), Rejection):
            return web.Response(status=401)
        activity = json.loads(body)
        db = request.app["db"]
        await db.execute("INSERT INTO activities (activity_id, body) VALUES (?, ?)", (activity["id"], body))
        await db.commit()
        return web.Response(status=202)

    async def open_db(app: web.Application) -> Any:
        db = await aiosqlite.connect(db_path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute("CREATE TABLE IF NOT EXISTS activities (id INTEGER PRIMARY KEY, activity_id TEXT UNIQUE, "
                         "body TEXT)")
        app["db"] = db
        yield
        await db.close()

    app = web.Application()
    app.cleanup_ctx.append(open_db)
    app.router.add_post("/inbox", inbox)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def wait_http(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


async def ceiling(tmp: Path, requests_file: Path, keys_file: Path, label: str) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--ceiling", str(port), str(tmp / f"ceiling-{label}.db"),
                             str(keys_file)])
    try:
        await wait_http(f"http://127.0.0.1:{port}/none")
        return run_load(port, requests_file)
    finally:
        stop(proc)


# -- the bridge -----------------------------------------------------------------------------

async def setup_bridge(tmp: Path, database: str, signers: list[tuple[str, str, str]], port: int) -> tuple[Path, str]:
    """A migrated database whose remote_actors hold the signers' keys; the config's path.
    (Run in a process of its own: tortoise does not switch between SQLite and PostgreSQL.)"""
    from tortoise import connections

    from bridge import db
    from bridge.config import load_config
    from bridge.keys import INSTANCE_ACTOR, ensure_keys

    url = database if database != "sqlite" else f"sqlite://{tmp / 'bridge.db'}"
    if url.startswith("postgres"):
        await empty_postgres(url)
    path = write_config(tmp, url, concurrency=8, port=port)
    config = load_config(path, env={})
    await db.migrate(config.database)
    await ensure_keys(["blog", INSTANCE_ACTOR])
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, 8))
    now = datetime.now(UTC)
    await conn.execute_many(
        f"INSERT INTO remote_actors (uri, host, inbox, key_id, public_key_pem, data, fetched_at) VALUES ({marks})",
        [[actor, actor.split("/")[2], actor + "/inbox", key_id, pem, "{}", now] for actor, key_id, pem in signers])
    await db.close_db()
    return path, url


async def count_rows(path: str) -> None:
    """Print how many activities and inbox jobs the bridge's database holds (JSON)."""
    from bridge import db
    from bridge.config import load_config
    from bridge.models import InboxActivity, Job

    await db.open_db(load_config(Path(path), env={}).database)
    try:
        print(json.dumps({"stored": await InboxActivity.all().count(),
                          "jobs": await Job.filter(kind="inbox.process").count()}))
    finally:
        await db.close_db()


async def bridge_run(tmp: Path, database: str, signers: list[tuple[str, str, str]], requests_file: Path,
                     n: int) -> dict[str, Any]:
    port = free_port()
    (tmp / "signers.json").write_text(json.dumps(signers))
    subprocess.run([sys.executable, __file__, "--setup", str(tmp), database, str(port)], check=True)
    path = tmp / "config.toml"
    env = {**os.environ, "BRIDGE_CONFIG": str(path)}
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--no-workers"], env=env, cwd=ROOT)
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        result = run_load(port, requests_file)
    finally:
        stop(proc)
    counted = subprocess.run([sys.executable, __file__, "--count", str(path)], stdout=subprocess.PIPE, check=True, text=True)
    result.update(json.loads(counted.stdout.strip().splitlines()[-1]))
    if result["statuses"] != {"202": n} or result["stored"] != n or result["jobs"] != n:
        raise SystemExit(f"the bridge did not accept and store every activity: {result}")
    return result


# -- the run --------------------------------------------------------------------------------

def make_requests(n: int, tmp: Path) -> tuple[list[tuple[str, str, str]], Path, Path]:
    """Signers (actor, key id, public PEM), the pre-signed requests file, the keys file."""
    from bridge.keys import new_rsa_pair
    from bridge.signatures import HttpRequest, Scheme, SigningKey, sign_request

    signers, keys = [], []
    for s in range(SIGNERS):
        private, public = new_rsa_pair()
        actor = f"https://s{s}.example/users/alice"
        signers.append((actor, f"{actor}#main-key", public))
        keys.append(SigningKey(f"{actor}#main-key", private))
    requests = []
    now = datetime.now(UTC)
    for i in range(n):
        actor, key_id, _pem = signers[i % SIGNERS]
        activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.split('/users')[0]}/likes/{i}",
                    "type": "Like", "actor": actor, "object": "https://bridge.example/users/blog/posts/1"}
        body = json.dumps(activity).encode()
        headers = sign_request(HttpRequest.of("POST", PUBLIC, {"Content-Type": "application/activity+json"}, body),
                               keys[i % SIGNERS], now, Scheme.CAVAGE)
        requests.append((headers, body.decode()))
    requests_file, keys_file = tmp / "requests.json", tmp / "keys.json"
    requests_file.write_text(json.dumps(requests))
    keys_file.write_text(json.dumps({key_id: pem for _actor, key_id, pem in signers}))
    return signers, requests_file, keys_file


async def main(databases: list[str], n: int, runs: int) -> None:
    print(f"machine: {machine()} (shared with other work: absolute figures wobble, ratios less)")
    print(f"{n} signed Like activities from {SIGNERS} signers, {CONCURRENCY} at once; the bridge is `bridge serve "
          f"--no-workers` at log level warning; the ceiling is measured before and after (mean)")
    results: dict[str, list[dict[str, Any]]] = {db: [] for db in databases}
    for run in range(runs):
        tmp = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
        signers, requests_file, keys_file = make_requests(n, tmp)
        before = await ceiling(tmp, requests_file, keys_file, "before")
        measured = {}
        for i, db in enumerate(databases):
            (tmp / f"db{i}").mkdir()
            measured[db] = await bridge_run(tmp / f"db{i}", db, signers, requests_file, n)
        after = await ceiling(tmp, requests_file, keys_file, "after")
        top = n / ((before["seconds"] + after["seconds"]) / 2)
        for db, r in measured.items():
            r.update(rate=n / r["seconds"], ceiling=top, ratio=n / r["seconds"] / top,
                     ceiling_p50_ms=(before["p50_ms"] + after["p50_ms"]) / 2,
                     ceiling_p99_ms=(before["p99_ms"] + after["p99_ms"]) / 2)
            results[db].append(r)
            print(f"  run {run + 1} {_kind(db)}: bridge {r['rate']:.0f}/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms;"
                  f" ceiling {top:.0f}/s p50 {r['ceiling_p50_ms']:.1f} ms p99 {r['ceiling_p99_ms']:.1f} ms;"
                  f" ratio {r['ratio']:.2f}", flush=True)
    for db, rs in results.items():
        def col(name: str) -> list[float]:
            return [r[name] for r in rs]

        print(f"{_kind(db)}:")
        print(f"  bridge:  {spread(col('rate'), '{:.0f}')} activities/s accepted; p50 {spread(col('p50_ms'), '{:.1f}')} ms;"
              f" p99 {spread(col('p99_ms'), '{:.1f}')} ms")
        print(f"  ceiling: {spread(col('ceiling'), '{:.0f}')} requests/s (bare aiohttp + aiosqlite, one commit each);"
              f" p50 {spread(col('ceiling_p50_ms'), '{:.1f}')} ms; p99 {spread(col('ceiling_p99_ms'), '{:.1f}')} ms")
        print(f"  ratio:   {spread(col('ratio'))}")
        print_json_line("inbox", {"database": _kind(db), "requests": n, "rate": statistics.median(col("rate")),
                                  "rates": col("rate"), "p50_ms": statistics.median(col("p50_ms")),
                                  "p99_ms": statistics.median(col("p99_ms")), "ceiling": statistics.median(col("ceiling")),
                                  "ceilings": col("ceiling"), "ratio": statistics.median(col("ratio")),
                                  "ratios": col("ratio")})


def _kind(database: str) -> str:
    return "sqlite" if database == "sqlite" else "postgres"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--load":
        asyncio.run(load(sys.argv[2], sys.argv[3]))
        sys.exit(0)
    if len(sys.argv) == 5 and sys.argv[1] == "--setup":
        signers = [tuple(s) for s in json.loads((Path(sys.argv[2]) / "signers.json").read_text())]
        asyncio.run(setup_bridge(Path(sys.argv[2]), sys.argv[3], signers, int(sys.argv[4])))  # type: ignore[arg-type]
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "--count":
        asyncio.run(count_rows(sys.argv[2]))
        sys.exit(0)
    if len(sys.argv) == 5 and sys.argv[1] == "--ceiling":
        run_ceiling(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", action="append", help="sqlite (a temporary file; the default) or a postgres:// URL;"
                        " give it twice to measure both in one run")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("BRIDGE_CONFIG", None)
    asyncio.run(main(args.database or ["sqlite"], args.requests, args.runs))
