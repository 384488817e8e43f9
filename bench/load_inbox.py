"""The inbox under load: signed activities for N seconds (60 by default) from a separate
process, while a fan-out to the blog's followers runs. Nothing accepted may be lost.

- setup: a database (SQLite file, or --database postgres://…) migrated, keys made, 2,000
  accepted followers on 200 shared inboxes;
- remote: this process serves the senders' 300 actor documents (one key pair, its own key
  id each) and every inbox the bridge delivers to (Accepts, the fan-out's Updates);
- bridge: a real `bridge serve` subprocess (HTTP and queue workers in one process);
- load: another process (this file with --generate) posting signed activities at the
  personal and the shared inbox with 16 connections: Follows (40%), replies (Create of
  a Note in reply to the blog, 30%), Likes (20%), and duplicates of an activity already
  sent (10%); each request's latency measured by the sender;
- meanwhile the daemon's RSS is read from /proc every 2 s.
Afterwards, the queue drained: every activity answered 202 is stored once and its
`inbox.process` job is done, every follow has its follower, every delivery is done.
lost = accepted (distinct ids) - stored and processed.

Run: python bench/load_inbox.py [--seconds 60] [--database postgres://…] [--json FILE]
(the PostgreSQL database is emptied first: name one that holds nothing else)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

ACTORS, FOLLOWERS, SHARED, CONNECTIONS = 300, 2_000, 200, 16
PUBLIC = "https://bridge.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the sender (its own process) -------------------------------------------------------------

async def generate(target: int, remote: int, seconds: float, private_pem: str, out: Path) -> None:
    from bridge.signatures import HttpRequest, Scheme, SigningKey, sign_request

    rng = random.Random(9)
    sent: list[dict[str, Any]] = []  # each request: id, type, status, ms
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    def activity() -> dict[str, Any]:
        n = rng.randrange(ACTORS)
        actor = f"http://127.0.0.1:{remote}/users/u{n}"
        roll = rng.random()
        if roll < 0.1 and sent:
            earlier = rng.choice(sent)
            return dict(earlier["activity"])  # a duplicate: the same id again
        serial = next(counter)
        if roll < 0.5:
            return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/follows/{serial}",
                    "type": "Follow", "actor": actor, "object": f"{PUBLIC}/users/blog"}
        if roll < 0.8:
            return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/notes/{serial}/activity",
                    "type": "Create", "actor": actor,
                    "object": {"id": f"{actor}/notes/{serial}", "type": "Note", "attributedTo": actor,
                               "content": f"<p>reply {serial}</p>", "inReplyTo": f"{PUBLIC}/users/blog/posts/1"}}
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/likes/{serial}", "type": "Like",
                "actor": actor, "object": f"{PUBLIC}/users/blog/posts/1"}

    async def sender(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            act = activity()
            path = rng.choice(["/users/blog/inbox", "/inbox"])
            body = json.dumps(act).encode()
            key = SigningKey(f"{act['actor']}#main-key", private_pem)
            headers = sign_request(HttpRequest.of("POST", PUBLIC + path, {"Content-Type": "application/activity+json"},
                                                  body), key, datetime.now(UTC), Scheme.CAVAGE)
            started = time.perf_counter()
            try:
                async with session.post(f"http://127.0.0.1:{target}{path}", data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError as exc:
                status = -1
                print(f"load: request failed: {exc}", file=sys.stderr)
            sent.append({"activity": act, "id": act["id"], "type": act["type"], "status": status,
                         "ms": (time.perf_counter() - started) * 1000})

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:
        await asyncio.gather(*(sender(session) for _ in range(CONNECTIONS)))
    out.write_text(json.dumps([{k: v for k, v in s.items() if k != "activity"} for s in sent]))


# -- the remote instance (actors, inboxes) -----------------------------------------------------

class Remote:
    def __init__(self, public_pem: str) -> None:
        self.public_pem = public_pem
        self.received: dict[str, int] = {}
        self.port = free_port()

    async def actor(self, request: web.Request) -> web.Response:
        uri = f"http://127.0.0.1:{self.port}/users/{request.match_info['name']}"
        return web.json_response({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"], "id": uri,
            "type": "Person", "preferredUsername": request.match_info["name"], "inbox": f"{uri}/inbox",
            "endpoints": {"sharedInbox": f"http://127.0.0.1:{self.port}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.public_pem},
        }, content_type="application/activity+json")

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.json()
        kind = str(body.get("type"))
        self.received[kind] = self.received.get(kind, 0) + 1
        return web.Response(status=202)

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/users/{name}", self.actor)
        app.router.add_post("/users/{name}/inbox", self.inbox)
        app.router.add_post("/inbox", self.inbox)
        app.router.add_post("/shared/{n}", self.inbox)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def main(database: str, seconds: float, json_out: Path | None) -> dict[str, Any]:
    from bridge import db
    from bridge.config import load_config
    from bridge.jobs.kinds import ActorUpdate, ProcessInbox
    from bridge.jobs.store import enqueue
    from bridge.keys import INSTANCE_ACTOR, ensure_keys, new_rsa_pair
    from bridge.models import Follower, InboxActivity, Job, JobState

    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    url = database if database != "sqlite" else f"sqlite://{tmp / 'bench.db'}"
    if url.startswith("postgres"):
        import asyncpg

        conn = await asyncpg.connect(url)
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        await conn.close()
    private_pem, public_pem = new_rsa_pair()
    remote = Remote(public_pem)
    port = free_port()
    path = tmp / "config.toml"
    path.write_text(f"""[server]\nbase_url = "{PUBLIC}"\nlisten = "127.0.0.1:{port}"\n[database]\nurl = "{url}"\n
[security]\nallow_private_addresses = true\n[log]\nlevel = "warning"\n
[queue]\nconcurrency = 32\npoll_seconds = 0.1\n
[delivery]\nconcurrency = 32\nper_host_concurrency = 32\n
[[blogs]]\nname = "blog"\nurl = "http://127.0.0.1:9/"\n""")
    config = load_config(path, env={})
    await db.migrate(config.database)
    await ensure_keys(["blog", INSTANCE_ACTOR])
    runner = await remote.start()
    await Follower.bulk_create([
        Follower(blog="blog", actor_uri=f"https://f{n}.example/users/u{n}", inbox=f"https://f{n}.example/users/u{n}/inbox",
                 shared_inbox=f"http://127.0.0.1:{remote.port}/shared/{n % SHARED}") for n in range(FOLLOWERS)
    ], batch_size=1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    bridge = subprocess.Popen([sys.executable, "-m", "bridge", "-c", str(path), "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "wb"))  # noqa: SIM115
    rss: list[int] = []
    try:
        async with aiohttp.ClientSession() as probe:
            for _ in range(300):
                try:
                    async with probe.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        await enqueue(ActorUpdate("blog", "load"))  # the fan-out runs meanwhile
        out = tmp / "sent.json"
        generator = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--generate", str(port), str(remote.port), str(seconds), str(out),
            stdin=asyncio.subprocess.PIPE)
        assert generator.stdin is not None
        generator.stdin.write(private_pem.encode())
        generator.stdin.close()
        while generator.returncode is None:
            rss.append(rss_kb(bridge.pid))
            try:
                await asyncio.wait_for(generator.wait(), 2)
            except TimeoutError:
                pass
        sent = json.loads(out.read_text())
        accepted = {s["id"]: s["type"] for s in sent if s["status"] == 202}
        drained_at = time.monotonic()
        while await Job.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).exists():
            if time.monotonic() - drained_at > 300:
                break
            rss.append(rss_kb(bridge.pid))
            await asyncio.sleep(1)
        drain_s = time.monotonic() - drained_at
        stored = set(await InboxActivity.filter(activity_id__in=list(accepted)).values_list("activity_id", flat=True)) \
            if accepted else set()
        payloads = await Job.filter(kind=ProcessInbox.KIND, state=JobState.DONE).values_list("payload", flat=True)
        processed = {p["activity_id"] for p in payloads}  # type: ignore[index]
    finally:
        bridge.terminate()
        bridge.wait(30)
        await runner.cleanup()
    follows = {i for i, t in accepted.items() if t == "Follow"}
    follower_uris = set(await Follower.filter(actor_uri__startswith="http://127.0.0.1").values_list("actor_uri", flat=True))
    result = {
        "seconds": seconds, "database": "sqlite" if url.startswith("sqlite") else "postgres",
        "requests": len(sent), "answered_202": sum(1 for s in sent if s["status"] == 202),
        "refused": sum(1 for s in sent if s["status"] not in (202, -1)), "failed": sum(1 for s in sent if s["status"] == -1),
        "distinct_accepted": len(accepted), "duplicates_sent": len(sent) - len({s["id"] for s in sent}),
        "by_type": {t: sum(1 for v in accepted.values() if v == t) for t in sorted(set(accepted.values()))},
        "stored": len(stored), "processed": len(set(accepted) & processed),
        "lost": len(set(accepted) - (stored & processed)),
        "follows_accepted": len(follows), "distinct_followers_from_load": len(follower_uris),
        "inbox_rows": await InboxActivity.all().count(),
        "deliveries": await Job.filter(kind="deliver").count(),
        "deliveries_done": await Job.filter(kind="deliver", state=JobState.DONE).count(),
        "deliveries_dead": await Job.filter(kind="deliver", state=JobState.DEAD).count(),
        "fan_out_updates_received": remote.received.get("Update", 0), "accepts_received": remote.received.get("Accept", 0),
        "latency_ms": {"p50": round(statistics.median([s["ms"] for s in sent]), 1) if sent else 0,
                       "p99": round(pct([s["ms"] for s in sent], 0.99), 1), "max": round(max(s["ms"] for s in sent), 1)},
        "throughput_per_s": round(len(sent) / seconds, 1), "drain_s": round(drain_s, 1),
        "rss_mb": {"first": round(rss[0] / 1024, 1), "max": round(max(rss) / 1024, 1), "last": round(rss[-1] / 1024, 1),
                   "samples": [round(r / 1024, 1) for r in rss[:: max(1, len(rss) // 12)]]},
    }
    await db.close_db()
    text = json.dumps(result, indent=2)
    print(text)
    if json_out:
        json_out.write_text(text + "\n")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database", default="sqlite", help="sqlite (a temporary file) or a postgres:// URL")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--generate", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        target, remote, seconds, out = args.generate
        asyncio.run(generate(int(target), int(remote), float(seconds), sys.stdin.read(), Path(out)))
    else:
        os.environ.pop("BRIDGE_CONFIG", None)
        figures = asyncio.run(main(args.database, args.seconds, args.json))
        sys.exit(1 if figures["lost"] else 0)
