"""What the benchmarks share: the machine they ran on, summaries of repeated runs, a
verifying sink in its own process, a bench database, and the bench config.

Every benchmark measures its ceiling in the same run as the bridge and prints both with
the ratio; repeated runs (`--runs`) report the median and the spread (min–max).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402


def machine() -> str:
    """Cores, CPU model, Python, OS: printed with every result."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {model}, Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()}")


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """`median (min–max, n runs)`."""
    if len(values) == 1:
        return fmt.format(values[0])
    return (f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))}, "
            f"{len(values)} runs)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a process, this one by default, in MB."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def addresses(n: int) -> list[str]:
    """n loopback addresses from 127.0.0.2 on, skipping x.x.x.0 and x.x.x.255 (Linux routes
    all of 127.0.0.0/8 to lo): a host each, for benches whose inboxes live on many hosts."""
    out = []
    value = int(ipaddress.IPv4Address("127.0.0.2"))
    while len(out) < n:
        if value & 0xFF not in (0, 255):
            out.append(str(ipaddress.IPv4Address(value)))
        value += 1
    return out


# -- the sink: every inbox of a fan-out, verifying, in its own process --------------------

def run_sink(port: int, public_pem: str, hosts: int = 1) -> None:
    """Serve POST /inbox/{n}: verify the HTTP signature (401 if it fails) and count. It also
    counts inboxes delivered twice, and twice *at the same time* (a request for an inbox
    arriving while another for it is still being answered): the scale-out proof. With
    `hosts` > 1 the inboxes are also served on that many loopback addresses (`Sink.url`)."""
    from bridge.signatures import HttpRequest, verify

    counts: dict[str, float] = {"verified": 0, "refused": 0, "repeated": 0, "concurrent": 0, "last_at": 0.0,
                                     "first_at": 0.0}
    seen: set[str] = set()
    busy: set[str] = set()

    async def inbox(request: web.Request) -> web.Response:
        path = request.raw_path
        if path in busy:
            counts["concurrent"] += 1
        busy.add(path)
        try:
            body = await request.read()
            signed = HttpRequest.of("POST", f"http://{request.host}{path}", list(request.headers.items()), body)
            verdict = verify(signed, public_pem, datetime.now(UTC))
            if hasattr(verdict, "reason"):
                counts["refused"] += 1
                return web.Response(status=401)
            if path in seen:
                counts["repeated"] += 1
            seen.add(path)
            counts["verified"] += 1
            counts["first_at"] = counts["first_at"] or time.time()  # the first delivery's arrival
            counts["last_at"] = time.time()  # when the last one was verified: the end of a run
            await asyncio.sleep(0)  # an answer is not instant: a twin sent meanwhile is caught
            return web.Response(status=202)
        finally:
            busy.discard(path)

    async def count(request: web.Request) -> web.Response:
        return web.json_response(counts)

    async def reset(request: web.Request) -> web.Response:
        counts.update(verified=0, refused=0, repeated=0, concurrent=0, last_at=0.0, first_at=0.0)
        seen.clear()
        return web.json_response(counts)

    app = web.Application()
    app.router.add_post("/inbox/{n}", inbox)
    app.router.add_get("/count", count)
    app.router.add_post("/reset", reset)
    host_list = ["127.0.0.1", *addresses(hosts)] if hosts > 1 else "127.0.0.1"
    web.run_app(app, host=host_list, port=port, print=None, access_log=None, backlog=1024)


class Sink:
    """A client of the sink process: its counts, a reset, a wait."""

    def __init__(self, port: int, hosts: int = 1) -> None:
        self.port = port
        self.inbox = f"http://127.0.0.1:{port}/inbox/{{n}}"
        self.hosts = addresses(hosts) if hosts > 1 else ["127.0.0.1"]

    def url(self, n: int) -> str:
        """Inbox n, on host n mod hosts."""
        return f"http://{self.hosts[n % len(self.hosts)]}:{self.port}/inbox/{n}"

    @staticmethod
    def start(public_pem: str, hosts: int = 1) -> tuple[subprocess.Popen[bytes], Sink]:
        """The sink process, verifying with `public_pem`, and a client of it."""
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--sink", str(port), str(hosts)],
                                stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(public_pem.encode())
        proc.stdin.close()
        return proc, Sink(port, hosts)

    async def counts(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"http://127.0.0.1:{self.port}/count") as response:
            return await response.json()  # type: ignore[no-any-return]

    async def ready(self, session: aiohttp.ClientSession) -> None:
        for _ in range(400):
            try:
                await self.counts(session)
                return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        raise SystemExit("the sink did not start")

    async def reset(self, session: aiohttp.ClientSession) -> None:
        async with session.post(f"http://127.0.0.1:{self.port}/reset"):
            pass

    async def wait_for(self, session: aiohttp.ClientSession, n: int, timeout: float = 1800) -> float:
        """Wait until `n` requests are verified; when the last was (time.time(), the sink's
        clock): asked rarely, so the waiting costs the process under test next to nothing."""
        deadline = time.monotonic() + timeout
        while (counts := await self.counts(session))["verified"] < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {counts}")
            await asyncio.sleep(0.1)
        return float(counts["last_at"])


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    proc.wait()


# -- the bench database and config --------------------------------------------------------

async def empty_postgres(url: str) -> None:
    """Empty a PostgreSQL bench database (its public schema): name one that holds nothing else."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def write_config(directory: Path, database_url: str, *, concurrency: int | None, level: str = "warning",
                 port: int = 0, blogs: Sequence[str] = ("blog",), blog_url: str = "https://{name}.example/") -> Path:
    """A bridge config for benches: private addresses allowed (the sink is on 127.0.0.1).
    With a `concurrency`, every inbox is on one host, so the per-host limit is the global
    one; with None, every queue, delivery and log setting is the shipped default."""
    path = directory / "config.toml"
    blog_tables = "".join(f'[[blogs]]\nname = "{name}"\nurl = "{blog_url.format(name=name)}"\n' for name in blogs)
    tuned = "" if concurrency is None else f"""[log]\nlevel = "{level}"\n
[queue]\nconcurrency = {concurrency}\npoll_seconds = 0.05\n
[delivery]\nconcurrency = {concurrency}\nper_host_concurrency = {concurrency}\n"""
    path.write_text(f"""[server]\nbase_url = "https://bridge.example"\nlisten = "127.0.0.1:{port or 8080}"\n
[database]\nurl = "{database_url}"\n[security]\nallow_private_addresses = true\n{tuned}
{blog_tables}""")
    return path


async def add_followers(blog: str, followers: int, inboxes: int, inbox_url: str | Callable[[int], str]) -> None:
    """`followers` accepted followers of `blog`, spread over `inboxes` shared inboxes (a
    format string with {n}, or a function of n)."""
    shared = inbox_url.format if isinstance(inbox_url, str) else (lambda n: inbox_url(n))
    from tortoise import connections

    from bridge.core.clock import utcnow

    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    marks = "$1, $2, $3, $4, $5, $6, $7" if postgres else "?, ?, ?, ?, ?, ?, ?"
    sql = (f"INSERT INTO followers (blog, actor_uri, inbox, shared_inbox, state, created_at, accepted_at) "
           f"VALUES ({marks})")
    now = utcnow()
    for start in range(0, followers, 5000):
        rows = [[blog, f"https://h{n % inboxes}.example/users/u{n}", f"https://h{n % inboxes}.example/users/u{n}/inbox",
                 shared(n=n % inboxes), "accepted", now, now]
                for n in range(start, min(followers, start + 5000))]
        await conn.execute_many(sql, rows)
    if postgres:
        # What autovacuum would do next to a bulk load, done before the clock starts: a
        # live bridge's followers arrive one at a time, not 100,000 in a second.
        await conn.execute_script("VACUUM ANALYZE followers")


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by this machine's PostgreSQL server processes (Linux /proc;
    0.0 elsewhere): read before and after a run, what the database cost it."""
    ticks = 0
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # the process has gone
            continue
        name, _, rest = stat.partition(") ")
        if name.endswith("(postgres"):
            fields = rest.split()
            # utime, stime, and cutime, cstime: the server's ended backends count in its own
            # (the bridge's connections close before the second reading).
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


async def start_worker(config: Any) -> tuple[Any, asyncio.Task[None], aiohttp.ClientSession]:
    """The daemon's queue Worker with the app's handlers and HTTP client, started as the
    daemon starts it (database open, signing keys warmed, the collector tuned): for the
    benches that run the bridge's side in their own process. (worker, its task, session)."""
    from bridge import db
    from bridge.app import BUILTIN_HANDLERS, new_http_session
    from bridge.daemon import tune_gc
    from bridge.jobs.store import JobContext
    from bridge.jobs.worker import Worker
    from bridge.publish.delivery import warm_signing_keys

    await db.open_db(config.database)
    session = new_http_session(config)
    worker = Worker(config.queue, BUILTIN_HANDLERS, context=JobContext(config=config, http=session))
    running = asyncio.create_task(worker.run())
    await warm_signing_keys(worker.context)  # as the app does when its worker starts
    tune_gc()  # as the daemon does once it has started
    return worker, running, session


def print_json_line(label: str, data: dict[str, Any]) -> None:
    """A machine-readable line for bench/all.py (after the human-readable ones)."""
    print(f"@{label} " + json.dumps(data), flush=True)


if __name__ == "__main__" and len(sys.argv) in (3, 4) and sys.argv[1] == "--sink":
    run_sink(int(sys.argv[2]), sys.stdin.read(), int(sys.argv[3]) if len(sys.argv) == 4 else 1)
