"""Test doubles for the fediverse side: a real local server playing a remote instance,
a resolver that fakes public names, independent signers/verifiers on Node, row counts.

The peer serves documents keyed by path and records every request it receives,
with whether its signature verified (by the key the test gives it) and how. The check
is Fedify's (tests/peers/sig-peers.mjs), not ours: a bug our signer and our verifier
shared would otherwise pass every test that relies on it.

Everything on Node needs tests/peers/node_modules (`npm ci --prefix tests/peers`);
without it those tests skip (`require_node_peers`).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import os
import select
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from tortoise import Tortoise

from bridge.signatures import HttpRequest, Scheme, SigningKey, sign_request

PEERS = Path(__file__).parent / "peers"
NODE = PEERS / "node_modules" / ".bin" / "node"
AS2 = "application/activity+json"
NODE_PEERS_MISSING = "tests/peers/node_modules is missing: run `npm ci --prefix tests/peers`"
NODE_TIMEOUT = 60.0  # seconds for one answer of sig-peers.mjs (a loaded machine; a hang fails, not waits)


def require_node_peers() -> None:
    """Skip the calling test when the Node peers (Node, Fedify, http-message-signatures)
    are not installed: without them the independent side of the test does not exist."""
    needed = (NODE, PEERS / "node_modules" / "@fedify" / "fedify", PEERS / "node_modules" / "http-message-signatures")
    if not all(path.exists() for path in needed):
        pytest.skip(NODE_PEERS_MISSING)

# One key pair per role, made once per test run (RSA generation is ~100 ms each).
_KEYS: dict[str, tuple[str, str]] = {}


def keypair(role: str) -> tuple[str, str]:
    """(private PEM, public PEM), the same for a role throughout the run."""
    if role not in _KEYS:
        from bridge.keys import new_rsa_pair

        _KEYS[role] = new_rsa_pair()
    return _KEYS[role]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def row_counts() -> dict[str, int]:
    """Rows in every table of the bridge: what "changes nothing" compares."""
    return {name: await model.all().count() for name, model in Tortoise.apps["bridge"].items()}


class FakeResolver(AbstractResolver):
    """Names to chosen addresses; every lookup recorded. Unknown names do not resolve."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"{host}: no such name")
        return [ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for a in self.table[host]]

    async def close(self) -> None:
        pass


@dataclass
class Seen:
    method: str
    url: str  # as the client addressed it (Host header + path and query)
    headers: list[tuple[str, str]]
    body: bytes
    local_address: str  # the address the connection came in on
    verified: Scheme | str | None = None  # the scheme, or the rejection reason


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


SEEN = web.RequestKey("seen", Seen)  # a route handler finds its own request's record here


@dataclass
class Peer:
    """A remote fediverse instance on 127.0.0.1: documents by path, requests recorded.

    With `verify_with`, Fedify checks each request's signature against that key at `clock()`;
    a request is put in `seen` once checked, so a test reading `seen` finds its verdict.
    """

    server: TestServer
    routes: dict[str, Handler | tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    verify_with: str | None = None  # a public PEM: Fedify checks each request's signature against it
    accept: frozenset[Scheme] | None = None  # schemes this instance accepts (None: any, even unsigned)
    challenge: str | None = None  # an Accept-Signature header sent with a 401
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "verify_with" and value is not None:
            require_node_peers()  # tests set it at start or later: either way, skip before any request
        super().__setattr__(name, value)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def serve(self, path: str, document: dict[str, Any] | bytes, status: int = 200,
              content_type: str = AS2, headers: dict[str, str] | None = None) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, {"Content-Type": content_type, **(headers or {})}, body)

    def actor(self, username: str, public_pem: str, /, *, base: str | None = None, **extra: Any) -> str:
        """Serve an actor document at /users/USERNAME (ids on `base`, default this peer); return its id.
        `extra` adds or replaces fields of the document."""
        uri = f"{base or self.base}/users/{username}"
        self.serve(f"/users/{username}", {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri, "type": "Person", "preferredUsername": username, "name": username.title(),
            "inbox": f"{uri}/inbox", "endpoints": {"sharedInbox": f"{base or self.base}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem},
            **extra,
        })
        return uri

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        sockname = request.transport.get_extra_info("sockname") if request.transport else ("?",)
        seen = Seen(request.method, f"http://{request.host}{request.raw_path}", list(request.headers.items()), body,
                    str(sockname[0]))
        if self.verify_with is not None:
            seen.verified = await fedify_verdict(seen, self.verify_with, self.clock())
        self.seen.append(seen)
        request[SEEN] = seen
        if self.accept is not None and seen.verified not in self.accept:
            headers = {"Accept-Signature": self.challenge} if self.challenge else {}
            return web.json_response({"error": "signature"}, status=401, headers=headers)
        route = self.routes.get(request.path)
        if route is None:
            return web.json_response({"error": "not found"}, status=404)
        if callable(route):
            return await route(request)
        status, headers, payload = route
        return web.Response(status=status, body=payload, headers=headers)

    @classmethod
    async def start(cls, **kwargs: Any) -> Peer:
        app = web.Application()
        peer = cls(TestServer(app, host="127.0.0.1"), **kwargs)
        app.router.add_route("*", "/{tail:.*}", peer._handle)
        await peer.server.start_server()
        return peer

    async def close(self) -> None:
        await self.server.close()


def signed_headers(method: str, url: str, body: bytes | None, key: SigningKey, now: datetime, scheme: Scheme,
                   headers: dict[str, str] | None = None) -> dict[str, str]:
    """Our own signer, for requests a test sends to the bridge."""
    base = {"Content-Type": AS2} if body is not None else {}
    return sign_request(HttpRequest.of(method, url, {**base, **(headers or {})}, body), key, now, scheme)


class NodePeers:
    """One `node sig-peers.mjs --serve` for the whole test session: started on first use,
    one task at a time, stopped at exit. A Node start costs ~0.3 s: once per signed request
    it would slow the suite by minutes.

    Blocking on purpose, called through `asyncio.to_thread`: pytest-asyncio gives each test
    its own event loop, and a plain process behind a thread lock belongs to none of them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._pending = b""  # read past the last answer's newline (none, in lock-step)

    def ask(self, task: dict[str, Any]) -> dict[str, Any]:
        """The one result line for `task`. RuntimeError if Node died or hung (it is restarted
        on the next task)."""
        with self._lock:
            proc = self._running()
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(task).encode() + b"\n")
                proc.stdin.flush()
                line = self._read_line(proc)
            except (OSError, TimeoutError) as exc:
                detail = self._stop()
                raise RuntimeError(f"sig-peers.mjs --serve: {exc}; its stderr:\n{detail}") from exc
            result: dict[str, Any] = json.loads(line)
            return result

    def close(self) -> None:
        with self._lock:
            self._stop()

    @property
    def pid(self) -> int | None:
        """The Node process's id while one runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._stop()
            self._stderr = tempfile.TemporaryFile()
            self._proc = subprocess.Popen(
                [str(NODE), str(PEERS / "sig-peers.mjs"), "--serve"], cwd=str(PEERS),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            )
        return self._proc

    def _read_line(self, proc: subprocess.Popen[bytes]) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()  # read unbuffered: select() must see every byte not yet taken
        deadline = time.monotonic() + NODE_TIMEOUT
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError(f"no answer in {NODE_TIMEOUT:.0f} s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise OSError(f"node exited ({proc.wait()})")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line

    def _stop(self) -> str:
        """End the process if any; its stderr, for the error that made us stop it."""
        proc, self._proc, self._pending = self._proc, None, b""
        if proc is not None:
            assert proc.stdin is not None
            try:
                proc.stdin.close()  # end of tasks: it exits on its own
                proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        detail = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            detail = self._stderr.read().decode(errors="replace")[-4000:]
            self._stderr.close()
            self._stderr = None
        return detail


_node = NodePeers()
atexit.register(_node.close)


async def node_peers(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run tasks through tests/peers/sig-peers.mjs (Fedify; npm http-message-signatures);
    a task that throws fails the test."""
    require_node_peers()
    results = [await asyncio.to_thread(_node.ask, task) for task in tasks]
    for result in results:
        assert "error" not in result, result["error"]
    return results


async def fedify_verdict(seen: Seen, public_pem: str, now: datetime) -> Scheme | str:
    """Fedify's verdict on a received request signed (it should be) by `public_pem`'s key,
    at `now`: the scheme its signature headers name when it verifies, else Fedify's reason
    (`noSignature`, `invalidSignature`, `keyFetchError`, or what it threw on)."""
    require_node_peers()
    body = None if seen.method in ("GET", "HEAD") else seen.body
    result = await asyncio.to_thread(_node.ask, {
        "op": "fedify-verify", "url": seen.url, "method": seen.method, "headers": seen.headers,
        "body64": b64(body), "publicKeyPem": public_pem, "now": int(now.timestamp() * 1000),
    })
    if "error" in result:
        return f"threw: {result['error'].splitlines()[0]}"
    if not result["verified"]:
        return str(result["reason"])
    rfc9421 = any(name.lower() == "signature-input" for name, _value in seen.headers)
    return Scheme.RFC9421 if rfc9421 else Scheme.CAVAGE


def b64(body: bytes | None) -> str | None:
    return None if body is None else base64.b64encode(body).decode()


def craft_cavage(method: str, url: str, headers: dict[str, str], covered: list[str], key: SigningKey, *,
                 target: str | None = None) -> dict[str, str]:
    """A draft-cavage signature over exactly `covered`, for requests an attacker shapes.
    `target` overrides the (request-target) path (to sign it without its query, say)."""
    request = HttpRequest.of(method, url, headers)
    lines = [f"{name}: {method.lower()} {target or request.target}" if name == "(request-target)"
             else f"{name}: {request.header(name)}" for name in covered]
    signature = base64.b64encode(key.sign("\n".join(lines).encode())).decode()
    return {**headers, "Signature": f'keyId="{key.key_id}",algorithm="rsa-sha256",'
                                    f'headers="{" ".join(covered)}",signature="{signature}"'}


async def run_node(script: str, task: dict[str, Any], *, env: dict[str, str] | None = None,
                   timeout: float = NODE_TIMEOUT) -> dict[str, Any]:
    """Run one tests/peers script with `task` as its JSON argument; its stdout, one JSON document."""
    proc = await asyncio.create_subprocess_exec(
        str(NODE), str(PEERS / script), json.dumps(task), cwd=str(PEERS),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        raise
    assert proc.returncode == 0, err.decode()
    return json.loads(out)  # type: ignore[no-any-return]
