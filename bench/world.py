"""One post to every follower in a simulated fediverse: the bridge with its default config,
and Fedify, against the same world in the same run (issue 19).

What it measures, for each sender: the time from the post's enqueue until 50 %, 99 % and
100 % of the LIVE followers have it; deliveries per second; the sender process's peak
memory; its CPU per delivery; and the ratio bridge / Fedify.

The world (other processes, on loopback):
- N servers, each on its own address (127.0.0.2, 127.0.0.3, …: Linux routes all of
  127.0.0.0/8 to lo) and one port, hosted by a few world processes (--world-procs, aiohttp,
  many listening sites each). Follower n lives on server n mod N as
  http://ADDR:PORT/users/u{n} with its own inbox /users/u{n}/inbox (--inboxes personal, the
  default: one request per follower, as the issue's first measurement). With --inboxes shared
  the followers also name the server's shared inbox /inbox, which both senders prefer, so a
  delivery to a server is ONE request carrying the activity for all its followers there.
  "deliveries" below are unique inboxes that answered 2xx.
- Every answer comes after a latency drawn from a lognormal distribution (median 150 ms,
  p99 2 s, capped at 20 s so that a live server never looks dead), seeded per server and
  per request number: the k-th request a sender makes to a server waits the same time for
  both senders.
- A fraction of the servers is dead (--dead): half refuse connections (nothing listens on
  the address), half accept and never answer (the request is held until the sender gives up).
- 1 % of the servers answer their first request 503 and 1 % answer it 429 with
  `Retry-After: 2` (--p503, --p429; at least one server of each when the fraction rounds to
  none, so that a small world shows the retries too); the request after it is served.
- Every request's HTTP signature is verified (the bridge's own verifier, bridge/signatures:
  draft-cavage and RFC 9421, which Fedify signs first), with the sender's public key fetched
  once per world process from the key id; a bad one is answered 401 and counted apart.
- A follower's activity has arrived when a request carrying it (its server's shared inbox,
  or its own inbox) is answered 2xx: the world records that time (CLOCK_MONOTONIC, the same
  clock in every process of the machine) and every request's start, end and answer.

The senders, one after the other against the same world (its counters and first-request
answers reset in between):
- bridge: its own process with a config holding only what is required ([server] base_url,
  [database] url: a SQLite file, or --database postgres://… emptied first, [security]
  allow_private_addresses since the world is on loopback, one [[blogs]]), so every other
  setting is the default (the effective values are printed). The followers are rows of the
  `followers` table; the post is a `posts` row; the clock starts when its `publish` job
  (what the daemon's poll enqueues for a new post) is enqueued in that process, which runs
  the daemon's queue Worker with the app's handlers and HTTP client (as bench/fanout.py;
  its log goes to a file at the configured level). The bridge fetches nothing from the
  world; its actor document (its public key) is served by this driver at base_url.
- fedify: tests/peers/fedify-sender.mjs, a Fedify 2.3.6 federation with MemoryKvStore and
  its InProcessMessageQueue wrapped in a ParallelMessageQueue of --fedify-parallel workers
  (default 512: as many requests in flight as the bridge's default allows), otherwise
  Fedify's defaults (its retry policy; no per-host limit). Fedify's bare in-process queue
  handles one message at a time: with one inbox per follower it reached 390 of 1,000 in
  120 s (--fedify-parallel 0 shows it), so a Fedify server with thousands of followers runs
  a parallel queue, and that is the peer to measure against. One actor whose one-shot
  followers dispatcher lists the same followers; on "go" it sends Create(Note) to
  "followers" with preferSharedInbox. Its actor (key) is served by its own HTTP server.

What limits each figure:
- times: from the sender's own reading of the clock just before it enqueues; an arrival is
  the end of the world's 2xx answer (the answer's own latency included). A sender that has
  not reached every live follower after --bound seconds is reported with what it reached
  (">bound"), not waited for.
- deliveries/s: live inboxes that answered 2xx / the time of the last of them. With few
  servers (1000:20 is 18–20 requests) this is dominated by the slowest server and by the
  retries' waits, not by the sender's speed.
- peak MB: VmHWM of the sender process (/proc/PID/status) at the end of the measurement:
  the whole process (Python, tortoise and the database driver; Node and V8), setup included.
- CPU ms/delivery (and the bridge's time to its first deliveries): the database is fresh, so
  every server is new to the bridge, which records each host's signature scheme and health
  (a few SQL statements per host) on its first delivery there; a second post would not.
- CPU ms/delivery: utime+stime of the sender process (/proc/PID/stat, clock ticks of 10 ms)
  from "go" to the end of the measurement, divided by the deliveries: with 20 deliveries a
  tick is 0.5 ms of it; a sender that waits (for a retry, or on a held request) spends its
  idle CPU (timers, polls) over that time too, which weighs when it delivered little. Everything runs on one 2-core machine: the world's processes (which
  verify every signature) and the driver share the cores with the sender.
- in flight: the most requests open at once at the world (all its processes), the
  sender's real concurrency; retry waits: from a failed answer (503, 429, 401) to the
  sender's next request to that server; a held request (a dead server that accepts) lasts
  until the sender's timeout.

Run: python bench/world.py [--size 1000:20] [--dead 0,0.1] [--runs 1] [--bound SECONDS]
     [--database postgres://postgres@127.0.0.1:5432/bench_world] [--world-procs 2]
     [--seed 1] [--inboxes personal|shared] [--fedify-parallel 512]  (0: Fedify's bare
                                         in-process queue, one message at a time)
Default: 1000 followers on 20 servers, dead 0 and 0.1, one run (well under 5 minutes).
`--senders bridge` (or fedify) runs one sender only; BENCH_CPROFILE=out.txt writes a cProfile
of the bridge's event loop thread from "go" on (the 60 functions with most own time; the
whole profile in out.txt.prof). cProfile counts each resumption of a coroutine as a call.
`--size 10000:2000` takes much longer (--bound defaults to 600 s there). The bridge's log
and the world's files stay in the temporary directory printed at the start.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import dataclasses
import json
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from benchlib import ROOT, addresses, empty_postgres, free_port, machine, print_json_line, spread, start_worker  # noqa: E402

PEERS = ROOT / "tests" / "peers"
NODE = PEERS / "node_modules" / ".bin" / "node"
FEDIFY_SENDER = PEERS / "fedify-sender.mjs"

LATENCY_MEDIAN = 0.150
LATENCY_P99 = 2.0
LATENCY_CAP = 20.0
Z99 = 2.3263478740408408  # the standard normal's 99th percentile
SIGMA = math.log(LATENCY_P99 / LATENCY_MEDIAN) / Z99
RETRY_AFTER = 2
BLOG = "blog"
POLL_SECONDS = 0.2  # how often the driver asks the world how many followers have the post


# -- the plan of a world ------------------------------------------------------------------

def make_plan(followers: int, servers: int, dead: float, p503: float, p429: float, seed: int,
              port: int, inboxes: str = "personal") -> dict[str, Any]:
    """Who lives where, which servers are dead (refusing or holding), which answer their
    first request 503 or 429: all from `seed`."""
    rng = random.Random(f"world/{seed}")
    order = rng.sample(range(servers), servers)
    n_dead = round(dead * servers)
    n_hang = n_dead // 2

    def at_least_one(p: float) -> int:
        return max(1, round(p * servers)) if p > 0 else 0

    n503, n429 = at_least_one(p503), at_least_one(p429)
    fate = ["live"] * servers
    first: list[int | None] = [None] * servers
    for k, i in enumerate(order[:n_dead]):
        fate[i] = "hang" if k < n_hang else "refuse"
    live_order = order[n_dead:]
    for i in live_order[:n503]:
        first[i] = 503
    for i in live_order[n503:n503 + n429]:
        first[i] = 429
    addrs = addresses(servers)
    return {"inboxes": inboxes, "followers": followers, "servers": servers, "port": port, "seed": seed, "dead": dead,
            "p503": p503, "p429": p429, "n503": n503, "n429": n429, "n_refuse": n_dead - n_hang, "n_hang": n_hang,
            "addresses": addrs, "fate": fate, "first": first}


def follower_urls(plan: dict[str, Any], n: int) -> tuple[str, str, str | None]:
    """(actor id, personal inbox, shared inbox or None) of follower n."""
    base = f"http://{plan['addresses'][n % plan['servers']]}:{plan['port']}"
    return f"{base}/users/u{n}", f"{base}/users/u{n}/inbox", f"{base}/inbox" if plan["inboxes"] == "shared" else None


def live_followers(plan: dict[str, Any]) -> int:
    return sum(1 for n in range(plan["followers"]) if plan["fate"][n % plan["servers"]] == "live")


def live_inboxes(plan: dict[str, Any]) -> int:
    """Inboxes to reach: one per live follower, or one per live server with shared inboxes."""
    return live_servers(plan) if plan["inboxes"] == "shared" else live_followers(plan)


def live_servers(plan: dict[str, Any]) -> int:
    """Live servers that have at least one follower."""
    return sum(1 for i in range(min(plan["servers"], plan["followers"])) if plan["fate"][i] == "live")


# -- a world process ----------------------------------------------------------------------

@dataclass
class ServerState:
    index: int
    fate: str
    first: int | None
    followers: list[int]
    rng: random.Random
    latencies: list[float] = field(default_factory=list)
    requests: int = 0  # requests received from the current sender
    inflight: int = 0
    max_inflight: int = 0

    def latency(self, k: int) -> float:
        """The k-th request's latency: the same sequence for every sender."""
        while len(self.latencies) <= k:
            self.latencies.append(min(LATENCY_CAP, self.rng.lognormvariate(math.log(LATENCY_MEDIAN), SIGMA)))
        return self.latencies[k]


@dataclass
class Round:
    """What the world saw of one sender."""

    arrivals: dict[int, float] = field(default_factory=dict)  # follower → when a 2xx carried it
    requests: list[list[Any]] = field(default_factory=list)  # [start, end, server, status, detail]
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # 401s by reason
    types: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # activity types verified
    schemes: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # verified, by scheme
    inflight: int = 0
    max_inflight: int = 0


def run_world(plan_path: str, index: int, count: int, control_port: int) -> None:
    """Serve this process's share of the world's servers (server i where i mod count == index)."""
    from bridge.signatures import (
        HttpRequest,
        Reason,
        Rejection,
        check_signature,
        inspect_signature,
    )

    plan = json.loads(Path(plan_path).read_text())
    seed = plan["seed"]
    servers: dict[str, ServerState] = {}
    for i in range(index, plan["servers"], count):
        if plan["fate"][i] == "refuse":
            continue  # nothing listens there
        servers[plan["addresses"][i]] = ServerState(
            i, plan["fate"][i], plan["first"][i], list(range(i, plan["followers"], plan["servers"])),
            random.Random(f"latency/{seed}/{i}"))
    state = Round()
    keys: dict[str, asyncio.Future[str | None]] = {}  # key id → its PEM, fetched once
    holding: set[asyncio.Task[Any]] = set()
    session: aiohttp.ClientSession | None = None

    async def fetch_key(key_id: str) -> str | None:
        pem = None
        try:
            assert session is not None
            async with session.get(key_id.split("#")[0], headers={"Accept": "application/activity+json"},
                                   timeout=aiohttp.ClientTimeout(total=30)) as response:
                doc = await response.json(content_type=None)
            found = doc.get("publicKey")
            for key in found if isinstance(found, list) else [found]:
                if isinstance(key, dict) and key.get("publicKeyPem") and (pem is None or key.get("id") == key_id):
                    pem = key["publicKeyPem"]
        except Exception as exc:  # the request is refused and counted
            print(f"world {index}: cannot fetch {key_id}: {exc!r}", file=sys.stderr, flush=True)
        if pem is None:
            keys.pop(key_id, None)  # tried again on the next request
        return pem

    async def public_key(key_id: str) -> str | None:
        """The sender's public key, fetched once (concurrent requests share the fetch)."""
        if key_id not in keys:
            keys[key_id] = asyncio.ensure_future(fetch_key(key_id))
        return await asyncio.shield(keys[key_id])

    async def inbox(request: web.Request) -> web.StreamResponse:
        here = request.transport.get_extra_info("sockname")[0] if request.transport else None
        server = servers.get(here or "")
        if server is None:
            return web.Response(status=404)
        round_ = state  # a reset between senders starts a new Round: this request belongs to its own
        path = request.path
        record: list[Any] = [time.monotonic(), None, server.index, None, "", path]  # path: which inbox
        round_.requests.append(record)
        round_.inflight += 1
        round_.max_inflight = max(round_.max_inflight, round_.inflight)
        server.inflight += 1
        server.max_inflight = max(server.max_inflight, server.inflight)
        try:
            if request.method != "POST":  # a sender fetching from the world: counted, not served
                record[3] = request.method
                return web.Response(status=405)
            if server.fate == "hang":  # accept, read, never answer: until the sender gives up
                record[3] = "held"
                task = asyncio.current_task()
                assert task is not None
                holding.add(task)
                try:
                    await asyncio.Event().wait()
                finally:
                    holding.discard(task)
            body = await request.read()
            k = server.requests
            server.requests += 1
            await asyncio.sleep(server.latency(k))
            if k == 0 and server.first == 503:
                record[3] = 503
                return web.Response(status=503, text="overloaded")
            if k == 0 and server.first == 429:
                record[3] = 429
                return web.Response(status=429, headers={"Retry-After": str(RETRY_AFTER)}, text="slow down")
            signed = HttpRequest.of(request.method, f"http://{request.host}{request.raw_path}",
                                    list(request.headers.items()), body)
            candidate = inspect_signature(signed, datetime.now(UTC))
            verdict: Any = candidate
            if not isinstance(candidate, Rejection):
                pem = await public_key(candidate.key_id)
                verdict = check_signature(candidate, pem) if pem else Rejection(Reason.UNKNOWN_KEY, "no key")
            if isinstance(verdict, Rejection):
                record[3], record[4] = 401, str(verdict.reason)
                round_.refused[str(verdict.reason)] += 1
                return web.Response(status=401, text=verdict.message)
            try:
                kind = str(json.loads(body).get("type"))
            except (ValueError, AttributeError):
                kind = "?"
            round_.types[kind] += 1
            round_.schemes[str(verdict.scheme)] += 1
            now = time.monotonic()
            covered = server.followers if path == "/inbox" else [int(path.split("/")[2][1:])]
            for n in covered:
                round_.arrivals.setdefault(n, now)
            record[3], record[4] = 202, str(verdict.scheme)
            return web.Response(status=202)
        except asyncio.CancelledError:
            record[4] = record[4] or "cancelled"  # the sender closed the connection (its timeout)
            raise
        finally:
            record[1] = time.monotonic()
            round_.inflight -= 1
            server.inflight -= 1

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"arrived": len(state.arrivals), "requests": len(state.requests)})

    async def report(request: web.Request) -> web.Response:
        return web.json_response({
            "arrivals": state.arrivals, "requests": state.requests, "refused": state.refused, "types": state.types,
            "schemes": state.schemes, "max_inflight": state.max_inflight,
            "max_inflight_per_server": max((s.max_inflight for s in servers.values()), default=0)})

    async def reset(request: web.Request) -> web.Response:
        nonlocal state
        for task in list(holding):
            task.cancel()
        state = Round()
        for s in servers.values():
            s.requests = 0
            s.max_inflight = 0
        return web.json_response({"ok": True})

    async def main() -> None:
        nonlocal session
        session = aiohttp.ClientSession()
        world = web.Application()
        world.router.add_route("*", "/{tail:.*}", inbox)
        # A sender that gives up closes its connection: the held handler ends then.
        runner = web.AppRunner(world, handler_cancellation=True, access_log=None)
        await runner.setup()
        for address in servers:
            await web.TCPSite(runner, address, plan["port"], backlog=1024).start()
        control = web.Application()
        control.router.add_get("/count", count)
        control.router.add_get("/report", report)
        control.router.add_post("/reset", reset)
        control_runner = web.AppRunner(control, access_log=None)
        await control_runner.setup()
        await web.TCPSite(control_runner, "127.0.0.1", control_port).start()
        print(json.dumps({"ready": index, "servers": len(servers)}), flush=True)
        # Until the driver closes our stdin (or dies): never outlive it.
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        os._exit(0)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        os._exit(1)


# -- the bridge, in its own process -------------------------------------------------------

async def bridge_side(config_path: str, post_id: int) -> None:
    """The daemon's queue Worker with the app's handlers and HTTP client; on "go", the post's
    `publish` job is enqueued. Runs until stdin closes."""
    from bridge.config import load_config
    from bridge.core.logs import setup_logging
    from bridge.jobs.kinds import Publish
    from bridge.jobs.retry import RetryPolicy
    from bridge.jobs.store import enqueue

    config = load_config(Path(config_path), env={})
    setup_logging(config.log.level)  # as the daemon: its log lines cost what they cost there
    worker, running, _session = await start_worker(config)
    policy = worker.policy
    settings = {"queue": dataclasses.asdict(config.queue), "delivery": dataclasses.asdict(config.delivery),
                "log": dataclasses.asdict(config.log),
                "retry_jitter": getattr(policy, "jitter", RetryPolicy().jitter)}
    print(json.dumps({"ready": True, "settings": settings}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    profile = None
    if os.environ.get("BENCH_CPROFILE"):  # where the CPU goes, from "go" on (cProfile: a heavy hand)
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started = time.monotonic()
    await enqueue(Publish(BLOG, post_id, "new"))
    print(json.dumps({"started": started}), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the driver is done with us
    running.cancel()
    from bridge.core import metrics

    runs = {f"deliver.{outcome}": int(metrics.JOBS.value(kind="deliver", outcome=outcome))
            for outcome in ("done", "retry", "dead", "deferred")}
    print("bench.jobs " + json.dumps(runs), file=sys.stderr, flush=True)  # for the driver, in the log
    if profile is not None:
        import pstats

        profile.disable()
        profile.dump_stats(os.environ["BENCH_CPROFILE"] + ".prof")  # for pstats, snakeviz…
        with open(os.environ["BENCH_CPROFILE"], "w") as out:  # noqa: ASYNC230 (the end of the process)
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(60)
    os._exit(0)


# -- the driver ---------------------------------------------------------------------------

CHILDREN: list[asyncio.subprocess.Process] = []


def _kill_children() -> None:
    """Every child process we started and that still runs, by its id."""
    for proc in CHILDREN:
        if proc.returncode is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


atexit.register(_kill_children)


async def spawn(*command: str, cwd: Path | None = None, stderr: Path | None = None) -> asyncio.subprocess.Process:
    err = open(stderr, "ab") if stderr else None  # noqa: SIM115 (the child holds it)
    proc = await asyncio.create_subprocess_exec(*command, cwd=cwd, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=err,
                                                limit=1 << 24)
    if err:
        err.close()
    CHILDREN.append(proc)
    return proc


async def finish(proc: asyncio.subprocess.Process) -> None:
    """Close its stdin (it exits on its own), else kill it."""
    if proc.returncode is not None:
        return
    try:
        assert proc.stdin is not None
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 3)
    except (TimeoutError, OSError, BrokenPipeError, ConnectionResetError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        await proc.wait()


async def line_of(proc: asyncio.subprocess.Process, key: str, timeout: float = 120.0) -> dict[str, Any]:
    """The next JSON line on the child's stdout holding `key` (other lines are skipped)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"no {key!r} from process {proc.pid} in {timeout:.0f} s")
        raw = await asyncio.wait_for(proc.stdout.readline(), remaining)
        if not raw:
            raise RuntimeError(f"process {proc.pid} exited ({await proc.wait()}) before saying {key!r}")
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        if isinstance(doc, dict) and key in doc:
            return doc


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(") ")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class World:
    """The world's processes and their control endpoints."""

    def __init__(self, plan: dict[str, Any], procs: list[asyncio.subprocess.Process], ports: list[int]) -> None:
        self.plan = plan
        self.procs = procs
        self.ports = ports
        self.http = aiohttp.ClientSession()

    @staticmethod
    async def start(plan: dict[str, Any], tmp: Path, count: int) -> World:
        path = tmp / "world.json"
        path.write_text(json.dumps(plan))
        ports = [free_port() for _ in range(count)]
        procs = [await spawn(sys.executable, __file__, "--world", str(path), str(i), str(count), str(ports[i]),
                             stderr=tmp / f"world-{i}.log") for i in range(count)]
        for proc in procs:
            await line_of(proc, "ready", timeout=300)
        return World(plan, procs, ports)

    async def _each(self, method: str, path: str) -> list[dict[str, Any]]:
        async def one(port: int) -> dict[str, Any]:
            async with self.http.request(method, f"http://127.0.0.1:{port}{path}") as response:
                return await response.json()  # type: ignore[no-any-return]

        return list(await asyncio.gather(*(one(p) for p in self.ports)))

    async def arrived(self) -> int:
        return sum(r["arrived"] for r in await self._each("GET", "/count"))

    async def reset(self) -> None:
        await self._each("POST", "/reset")

    async def report(self) -> dict[str, Any]:
        parts = await self._each("GET", "/report")
        merged: dict[str, Any] = {"arrivals": {}, "requests": [], "refused": defaultdict(int),
                                  "types": defaultdict(int), "schemes": defaultdict(int),
                                  "max_inflight_in_a_process": 0, "max_inflight_per_server": 0}
        for p in parts:
            merged["arrivals"].update({int(k): v for k, v in p["arrivals"].items()})
            merged["requests"] += p["requests"]
            for name in ("refused", "types", "schemes"):
                for k, v in p[name].items():
                    merged[name][k] += v
            merged["max_inflight_in_a_process"] = max(merged["max_inflight_in_a_process"], p["max_inflight"])
            merged["max_inflight_per_server"] = max(merged["max_inflight_per_server"], p["max_inflight_per_server"])
        return merged

    async def stop(self) -> None:
        await self.http.close()
        for proc in self.procs:
            await finish(proc)


@dataclass
class Sender:
    """A sender process as the driver drives it."""

    name: str
    proc: asyncio.subprocess.Process
    info: dict[str, Any]
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)


async def measure(world: World, sender: Sender, bound: float) -> dict[str, Any]:
    """Say "go", wait until every live follower has the post or `bound` seconds passed;
    the sender's figures, and what the world saw."""
    plan = world.plan
    live = live_followers(plan)
    pid = sender.proc.pid
    assert sender.proc.stdin is not None and sender.proc.stdout is not None
    cpu0 = cpu_seconds(pid)
    sender.proc.stdin.write(b"go\n")
    await sender.proc.stdin.drain()
    started = float((await line_of(sender.proc, "started", timeout=60))["started"])

    async def listen() -> None:  # what else the sender says (Fedify: enqueued, drained, errors)
        assert sender.proc.stdout is not None
        while raw := await sender.proc.stdout.readline():
            try:
                sender.events.append((time.monotonic(), json.loads(raw)))
            except ValueError:
                pass

    listening = asyncio.create_task(listen())
    arrived = 0
    died = None
    while True:
        arrived = await world.arrived()
        if arrived >= live:
            break
        if time.monotonic() - started > bound:
            break
        if sender.proc.returncode is not None:
            died = sender.proc.returncode
            break
        await asyncio.sleep(POLL_SECONDS)
    ended = time.monotonic()
    cpu = cpu_seconds(pid) - cpu0 if died is None else float("nan")
    peak = vm_hwm_mb(pid) if died is None else float("nan")
    await finish(sender.proc)
    listening.cancel()
    await asyncio.sleep(0.3)  # connections closed: held requests end
    seen = await world.report()
    return figures(plan, sender, seen, started, ended, cpu, peak, bound, died)


def figures(plan: dict[str, Any], sender: Sender, seen: dict[str, Any], started: float, ended: float, cpu: float,
            peak: float, bound: float, died: int | None) -> dict[str, Any]:
    live = live_followers(plan)
    times = sorted(t - started for n, t in seen["arrivals"].items() if plan["fate"][n % plan["servers"]] == "live")

    def at(fraction: float) -> float | None:
        need = max(1, math.ceil(fraction * live))
        return times[need - 1] if len(times) >= need else None

    requests = sorted(seen["requests"], key=lambda r: r[0])
    inboxes_ok: set[tuple[int, str]] = {(r[2], r[5]) for r in requests if r[3] == 202}
    delivered = len(inboxes_ok)
    last = times[-1] if times else None
    # Concurrency at the world: the most requests open at once (all processes merged).
    edges = sorted([(r[0], 1) for r in requests] + [(r[1] if r[1] is not None else ended, -1) for r in requests],
                   key=lambda e: (e[0], e[1]))
    open_now = peak_open = 0
    for _t, step in edges:
        open_now += step
        peak_open = max(peak_open, open_now)
    def mean_open_until(until: float) -> float:
        """Requests open at the world on average from the start to `until` (seconds after it)."""
        end = started + until
        busy = [min(r[1] or ended, end) - max(r[0], started) for r in requests if r[0] < end]
        return sum(b for b in busy if b > 0) / until if until > 0 else 0.0

    mean_open = mean_open_until(at(1.0) or (ended - started))
    mean_open_99 = mean_open_until(at(0.99) or (ended - started))
    # Retries: from a failed answer to the sender's next request to that inbox.
    by_server: dict[tuple[int, str], list[list[Any]]] = defaultdict(list)
    for r in requests:
        by_server[r[2], r[5]].append(r)
    waits: dict[str, list[float]] = defaultdict(list)
    unanswered: dict[str, int] = defaultdict(int)  # failed answers the sender did not try again in time
    held: list[float] = []
    for rs in by_server.values():
        for a, b in zip(rs, [*rs[1:], None], strict=True):
            if a[3] == "held":
                held.append((a[1] or ended) - a[0])
            elif a[3] in (401, 429, 503) and b is not None and a[1] is not None:
                waits[str(a[3])].append(b[0] - a[1])
            elif a[3] in (401, 429, 503):
                unanswered[str(a[3])] += 1
    statuses: dict[str, int] = defaultdict(int)
    for r in requests:
        statuses[str(r[3])] += 1
    first_request = (requests[0][0] - started) if requests else None
    # What set the 100 % mark: when the request that reached the last live inbox started.
    last_ok = max((r for r in requests if r[3] == 202 and plan["fate"][r[2]] == "live"), key=lambda r: r[1], default=None)
    return {
        "sender": sender.name, "live_followers": live, "reached": len(times), "complete": len(times) >= live,
        "died": died, "bound": bound, "t50": at(0.5), "t99": at(0.99), "t100": at(1.0), "last": last,
        "delivered_inboxes": delivered, "live_inboxes": live_inboxes(plan),
        # Incomplete: over the whole measured time (it was still at it), not up to its last success.
        "rate": delivered / (last if len(times) >= live else ended - started) if last else 0.0, "peak_mb": peak, "cpu_s": cpu,
        "cpu_ms": cpu * 1000 / delivered if delivered else float("nan"), "requests": len(requests),
        "statuses": dict(statuses), "refused": dict(seen["refused"]), "types": dict(seen["types"]),
        "schemes": dict(seen["schemes"]), "max_inflight": peak_open, "mean_inflight": mean_open,
        "mean_inflight_99": mean_open_99,
        "max_inflight_per_server": seen["max_inflight_per_server"], "waits": {k: sorted(v) for k, v in waits.items()},
        "not_retried": dict(unanswered),
        "last_request": [last_ok[0] - started, last_ok[1] - last_ok[0]] if last_ok else None,
        "held_s": sorted(held), "first_request_ms": first_request * 1000 if first_request is not None else None,
        "measured_s": ended - started, "info": sender.info,
        "events": [(round(t - started, 3), e) for t, e in sender.events][:40],
    }


def bridge_retries(log: Path) -> dict[str, list[float]]:
    """The retries the bridge scheduled for deliveries (its `job.retry` log lines), by cause."""
    out: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(errors="replace").splitlines() if log.exists() else ():
        if "job.retry kind=deliver" not in line or " in_s=" not in line:
            continue
        delay = float(line.split(" in_s=")[1].split()[0])
        cause = ("429" if "answered 429" in line else "503" if "answered 503" in line else
                 "timeout" if "timeout" in line else "refused" if "Connect call failed" in line else "other")
        out[cause].append(delay)
    return dict(out)


def bridge_job_runs(log: Path) -> dict[str, int]:
    """How the bridge's delivery jobs' runs ended (done, retry, dead, deferred), from the
    counts it writes to its log as it ends."""
    for line in log.read_text(errors="replace").splitlines() if log.exists() else ():
        if line.startswith("bench.jobs "):
            return json.loads(line.removeprefix("bench.jobs "))  # type: ignore[no-any-return]
    return {}


async def serve_actor(document: dict[str, Any], port: int) -> web.AppRunner:
    """The bridge's actor document (its public key) at its id, as the bridge would serve it."""
    body = json.dumps(document).encode()

    async def actor(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get(f"/users/{BLOG}", actor)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def bridge_config(tmp: Path, database_url: str, base_url: str) -> Path:
    """Only what is required: every other setting is the default."""
    path = tmp / "config.toml"
    path.write_text(f'[server]\nbase_url = "{base_url}"\n\n[database]\nurl = "{database_url}"\n\n'
                    f'[security]\nallow_private_addresses = true\n\n'
                    f'[[blogs]]\nname = "{BLOG}"\nurl = "https://blog.example/"\n')
    return path


async def prepare_bridge(plan: dict[str, Any], tmp: Path, database: str, base_url: str) -> tuple[Path, int, dict[str, Any]]:
    """The database (migrated, keys made, the followers and the post inserted), the config;
    the post's row id and the blog's actor document."""
    from tortoise import connections

    from bridge import db
    from bridge.blog.post import Post, post_to_dict
    from bridge.config import load_config
    from bridge.core.clock import utcnow
    from bridge.keys import INSTANCE_ACTOR, ensure_keys
    from bridge.models import BlogPost
    from bridge.publish.documents import actor_document

    url = f"sqlite://{tmp / 'bridge.db'}" if database == "sqlite" else database
    if url.startswith("postgres"):
        await empty_postgres(url)
    path = bridge_config(tmp, url, base_url)
    config = load_config(path, env={})
    await db.migrate(config.database)
    try:
        await ensure_keys([BLOG, INSTANCE_ACTOR])
        conn = connections.get("default")
        postgres = conn.capabilities.dialect == "postgres"
        marks = ", ".join(f"${i}" for i in range(1, 8)) if postgres else ", ".join("?" * 7)
        sql = ("INSERT INTO followers (blog, actor_uri, inbox, shared_inbox, state, created_at, accepted_at) "
               f"VALUES ({marks})")
        now = utcnow()
        for start in range(0, plan["followers"], 5000):
            await conn.execute_many(sql, [[BLOG, *follower_urls(plan, n), "accepted", now, now]
                                          for n in range(start, min(plan["followers"], start + 5000))])
        if postgres:
            await conn.execute_script("VACUUM ANALYZE followers")
        post = Post(url="https://blog.example/2026/hello/", content_html="<p>Hello, fediverse: one post to every "
                    "follower.</p>", published=now)
        row = await BlogPost.create(blog=BLOG, url=post.url, data=post_to_dict(post), fingerprint="f" * 64,
                                    published=now, fetched_at=now, changed_at=now)
        document = await actor_document(config.server.base_url, config.blog(BLOG))
    finally:
        await db.close_db()
    return path, row.id, document


async def run_bridge(world: World, tmp: Path, database: str, bound: float) -> dict[str, Any]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    path, post_id, document = await prepare_bridge(world.plan, tmp, database, base_url)
    runner = await serve_actor(document, port)
    try:
        proc = await spawn(sys.executable, __file__, "--bridge-side", str(path), str(post_id), cwd=ROOT,
                           stderr=tmp / "bridge.log")
        ready = await line_of(proc, "ready")
        result = await measure(world, Sender("bridge (defaults)", proc, ready["settings"]), bound)
        await finish(proc)  # it writes its job counts as it ends
        result["retries"] = bridge_retries(tmp / "bridge.log")
        result["job_runs"] = bridge_job_runs(tmp / "bridge.log")
        return result
    finally:
        await runner.cleanup()


async def run_fedify(world: World, tmp: Path, bound: float, parallel: int) -> dict[str, Any]:
    plan = world.plan
    task = tmp / "fedify-task.json"
    task.write_text(json.dumps({"followers": [follower_urls(plan, n) for n in range(plan["followers"])],
                                "parallel": parallel}))
    proc = await spawn(str(NODE), str(FEDIFY_SENDER), str(task), cwd=PEERS, stderr=tmp / "fedify.log")
    ready = await line_of(proc, "ready")
    name = "fedify" if not parallel else f"fedify (parallel {parallel})"
    return await measure(world, Sender(name, proc, ready), bound)


# -- printing -----------------------------------------------------------------------------

def secs(value: float | None, bound: float) -> str:
    return f">{bound:.0f} s" if value is None else (f"{value:.2f} s" if value < 10 else f"{value:.1f} s")


def ratio(a: float | None, b: float | None, bound: float | None = None) -> str:
    """a / b; a time never reached (None) is more than `bound`, so the ratio is a bound too."""
    if a is None and b is None:
        return "–"
    if bound is not None and (a is None or b is None):
        return f">{bound / b:.2f}" if a is None and b else (f"<{a / bound:.2f}" if b is None and a is not None else "–")
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return "–"
    return f"{a / b:.2f}"


def world_line(plan: dict[str, Any]) -> str:
    return (f"world: {plan['followers']:,} followers on {plan['servers']:,} servers ({plan['inboxes']} inboxes), "
            f"latency median "
            f"{LATENCY_MEDIAN * 1000:.0f} ms p99 {LATENCY_P99:g} s, dead {plan['dead'] * 100:g} % "
            f"({plan['n_refuse']} refusing, {plan['n_hang']} holding), {plan['p503'] * 100:g} % 503 "
            f"({plan['n503']} server{'s' * (plan['n503'] != 1)}), {plan['p429'] * 100:g} % 429 (Retry-After "
            f"{RETRY_AFTER}; {plan['n429']} server{'s' * (plan['n429'] != 1)})")


def table(plan: dict[str, Any], rows: list[dict[str, Any]], bound: float) -> list[str]:
    out = [world_line(plan),
           (f"  live: {live_followers(plan):,} followers on {live_servers(plan):,} servers; deliveries = unique inbox "
            "requests answered 2xx " + ("(one per server: its shared inbox)" if plan["inboxes"] == "shared"
                                        else "(one per follower: its own inbox)")),
           f"{'':20}{'50 %':>10}{'99 %':>10}{'100 % live':>12}{'deliveries/s':>14}{'peak MB':>10}{'CPU ms/delivery':>17}"]
    for r in rows:
        out.append(f"{r['sender']:20}{secs(r['t50'], bound):>10}{secs(r['t99'], bound):>10}"
                   f"{secs(r['t100'], bound):>12}{r['rate']:>14.2f}{r['peak_mb']:>10.0f}{r['cpu_ms']:>17.2f}")
    if len(rows) == 2:
        b, f = rows
        out.append(f"{'bridge / fedify':20}{ratio(b['t50'], f['t50'], bound):>10}{ratio(b['t99'], f['t99'], bound):>10}"
                   f"{ratio(b['t100'], f['t100'], bound):>12}{ratio(b['rate'], f['rate']):>14}"
                   f"{ratio(b['peak_mb'], f['peak_mb']):>10}{ratio(b['cpu_ms'], f['cpu_ms']):>17}")
    for r in rows:
        out.append(f"  {r['sender']}: " + details(r))
    return out


def details(r: dict[str, Any]) -> str:
    parts = [f"reached {r['reached']:,}/{r['live_followers']:,} live followers "
             f"({r['delivered_inboxes']}/{r['live_inboxes']} live inboxes)"
             + (" — NOT all within the bound" if not r["complete"] else "")
             + (f" — the sender DIED (exit {r['died']})" if r["died"] is not None else ""),
             f"{r['requests']} requests ({', '.join(f'{k}: {v}' for k, v in sorted(r['statuses'].items()))})",
             f"first request after {r['first_request_ms']:.0f} ms" if r["first_request_ms"] is not None else "no request",
             (f"in flight at the world: max {r['max_inflight']}, mean {r['mean_inflight_99']:.1f} until 99 % and "
              f"{r['mean_inflight']:.1f} until 100 % of the live followers (max {r['max_inflight_per_server']} at one "
              "server)")]
    if r["schemes"]:
        parts.append("verified " + ", ".join(f"{k} {v}" for k, v in r["schemes"].items()))
    if r["refused"]:
        parts.append("401 (refused signatures) " + ", ".join(f"{k} {v}" for k, v in r["refused"].items()))
    for status, waits in sorted(r["waits"].items()):
        shown = ", ".join(f"{w:.1f}" for w in waits[:6]) + (" …" if len(waits) > 6 else "")
        parts.append(f"after {status}: next request {shown} s later"
                     + (f" (median {statistics.median(waits):.1f} s, max {max(waits):.1f} s)" if len(waits) > 6 else ""))
    for status, n in sorted(r.get("not_retried", {}).items()):
        parts.append(f"{n} answer{'s' * (n != 1)} {status} not tried again by the end")
    if r["held_s"]:
        held = r["held_s"]
        parts.append(f"{len(held)} held request{'s' * (len(held) != 1)} (dead servers that accept) lasted "
                     f"median {statistics.median(held):.1f} s, max {max(held):.1f} s (those cut by the end included), "
                     f"{sum(held):.0f} request-seconds in all")
    if r.get("last_request"):
        start, took = r["last_request"]
        parts.append(f"the last live inbox's request started at {start:.2f} s and took {took:.2f} s")
    if not r["complete"]:
        parts.append(f"deliveries/s over the whole {r['measured_s']:.0f} s")
    parts.append(f"CPU {r['cpu_s']:.2f} s in {r['measured_s']:.1f} s measured")
    said: dict[str, Any] = {}
    errors = 0
    for t, event in r["events"]:
        for key in ("enqueued", "drained"):
            if key in event:
                said.setdefault(key, t)
        errors += "error" in event
    if said:
        parts.append("its queue: " + ", ".join(f"{k} at {v:.2f} s" for k, v in said.items()))
    if errors:
        parts.append(f"{errors} delivery error{'s' * (errors != 1)} reported by it")
    if r.get("job_runs"):
        parts.append("its delivery jobs' runs: " + ", ".join(f"{k.split('.')[1]} {v}" for k, v in r["job_runs"].items()))
    if r.get("retries"):
        parts.append("its log: retries scheduled " + ", ".join(f"{k} in {', '.join(f'{x:g}' for x in v[:6])} s"
                                                             for k, v in sorted(r["retries"].items())))
    return "; ".join(parts)


def settings_line(info: dict[str, Any]) -> str:
    q, d = info.get("queue", {}), info.get("delivery", {})
    return (f"bridge's effective settings (defaults): queue.concurrency={q.get('concurrency')}, "
            f"delivery.concurrency={d.get('concurrency')}, delivery.per_host_concurrency="
            f"{d.get('per_host_concurrency')}, delivery.timeout_seconds={d.get('timeout_seconds')}; retries: "
            f"queue.retry_base_seconds={q.get('retry_base_seconds')} (jitter ±{info.get('retry_jitter', 0) * 100:.0f} %),"
            f" retry_max_seconds={q.get('retry_max_seconds')}, max_attempts={q.get('max_attempts')}; "
            f"poll_seconds={q.get('poll_seconds')}; log.level={info.get('log', {}).get('level')}"
            + "".join(f"; delivery.{k}={v}" for k, v in d.items()
                      if k not in ("concurrency", "per_host_concurrency", "timeout_seconds")))


FEDIFY_DEFAULTS = ("Fedify 2.3.6 (read from its source): its InProcessMessageQueue handles one message at a "
                   "time (fan-out, then each inbox in turn), so it runs here in a ParallelMessageQueue (--fedify-parallel);"
                   " its defaults otherwise: no per-host limit; retries: exponential backoff from 1 s ×2 per attempt, "
                   "jitter +0–100 %, max 12 h, 10 attempts, a Retry-After honoured; no request timeout of its own "
                   "(Node's fetch gives up waiting for headers after 300 s); it double-knocks (RFC 9421 first, "
                   "draft-cavage again at once) on 400, 401 and any status above 401, 429 and 503 included")


# -- main ---------------------------------------------------------------------------------

async def one_world(args: argparse.Namespace, followers: int, servers: int, dead: float, run: int,
                    bound: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-world-"))
    plan = make_plan(followers, servers, dead, args.p503, args.p429, args.seed, free_port(),
                     args.inboxes)
    print(f"-- run {run + 1}: {followers:,} followers on {servers:,} servers, dead {dead:g} (files: {tmp})", flush=True)
    took = time.monotonic()
    world = await World.start(plan, tmp, args.world_procs)
    try:
        rows = []
        if "bridge" in args.senders:
            rows.append(await run_bridge(world, tmp, args.database, bound))
            await world.reset()
        if "fedify" in args.senders:
            rows.append(await run_fedify(world, tmp, bound, args.fedify_parallel))
    finally:
        await world.stop()
    if "bridge" in args.senders:
        print(settings_line(rows[0]["info"]))
    print("\n".join(table(plan, rows, bound)), flush=True)
    print(f"  (this run took {time.monotonic() - took:.0f} s)", flush=True)
    return {"plan": {k: v for k, v in plan.items() if k not in ("addresses", "fate", "first")}, "rows": rows}


async def main(args: argparse.Namespace) -> None:
    main_task = asyncio.current_task()
    assert main_task is not None
    # SIGTERM as Ctrl-C: unwind (each world and sender is finished), then every child is killed.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    print(f"machine: {machine()} (shared with other work: absolute figures wobble)")
    print(f"database: {'sqlite' if args.database == 'sqlite' else 'postgres'}; world: {args.world_procs} processes; "
          f"seed {args.seed}")
    print(FEDIFY_DEFAULTS)
    for followers, servers in args.size:
        bound = args.bound or (120.0 if followers <= 2000 else 600.0)
        for dead in args.dead:
            results = [await one_world(args, followers, servers, dead, run, bound) for run in range(args.runs)]
            rows = [r["rows"] for r in results]
            if args.runs > 1:
                print(f"{followers:,} followers on {servers:,} servers, dead {dead:g}: {args.runs} runs, median "
                      "(min–max); a time never reached counts as the bound")
                for i, name in enumerate(r["sender"] for r in rows[0]):
                    col = [run[i] for run in rows]

                    def val(key: str, col: list[dict[str, Any]] = col, bound: float = bound) -> list[float]:
                        return [bound if c[key] is None else c[key] for c in col]

                    print(f"  {name}: 50 % {spread(val('t50'))} s, 99 % {spread(val('t99'))} s, 100 % "
                          f"{spread(val('t100'))} s, {spread(val('rate'))} deliveries/s, peak "
                          f"{spread(val('peak_mb'), '{:.0f}')} MB, CPU {spread(val('cpu_ms'))} ms/delivery")
            print_json_line("world", {
                "followers": followers, "servers": servers, "dead": dead, "database": args.database
                if args.database == "sqlite" else "postgres", "bound": bound, "seed": args.seed,
                "plan": results[0]["plan"],
                "runs": [[{k: v for k, v in r.items() if k not in ("events",)} for r in run] for run in rows],
                "t100_ratio": [ratio(run[0]["t100"], run[1]["t100"], bound) for run in rows if len(run) == 2],
                "rate_ratio": [ratio(run[0]["rate"], run[1]["rate"]) for run in rows if len(run) == 2]})


def size(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        followers, servers = part.split(":")
        out.append((int(followers), int(servers)))
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=size, default=[(1000, 20)], help="FOLLOWERS:SERVERS[,…] (default 1000:20)")
    parser.add_argument("--dead", type=lambda t: [float(x) for x in t.split(",")], default=[0.0, 0.1],
                        help="fractions of dead servers, comma-separated (default 0,0.1)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--inboxes", choices=["personal", "shared"], default="personal",
                        help="personal (default): each follower its own inbox; shared: one per server, preferred")
    parser.add_argument("--bound", type=float, default=None,
                        help="seconds a sender gets to reach every live follower (default 120, 600 above 2000 followers)")
    parser.add_argument("--database", default="sqlite", help="sqlite (a file) or postgres://… (emptied first)")
    parser.add_argument("--world-procs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--p503", type=float, default=0.01)
    parser.add_argument("--p429", type=float, default=0.01)
    parser.add_argument("--senders", type=lambda t: t.split(","), default=["bridge", "fedify"],
                        help="bridge,fedify (default both; one alone for profiling or iterating)")
    parser.add_argument("--fedify-parallel", type=int, default=512,
                        help="Fedify's queue in a ParallelMessageQueue of N workers (default 512; 0: one at a time)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--world":
        run_world(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--bridge-side":
        asyncio.run(bridge_side(sys.argv[2], int(sys.argv[3])))
    else:
        try:
            asyncio.run(main(parse_args(sys.argv[1:])))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted: child processes killed", file=sys.stderr)
            sys.exit(130)
        finally:
            _kill_children()
