"""Test doubles for the fediverse side: a real local server playing a remote instance,
a resolver that fakes public names, independent signers/verifiers on Node, row counts.

The peer serves documents keyed by path and records every request it receives,
with whether its signature verified (by the key the test gives it) and how.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from tortoise import Tortoise

from bridge.signatures import HttpRequest, Scheme, SigningKey, sign_request, verify

PEERS = Path(__file__).parent / "peers"
NODE = PEERS / "node_modules" / ".bin" / "node"
AS2 = "application/activity+json"

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


@dataclass
class Peer:
    """A remote fediverse instance on 127.0.0.1: documents by path, requests recorded."""

    server: TestServer
    routes: dict[str, Handler | tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    verify_with: str | None = None  # a public PEM: check each request's signature against it
    accept: frozenset[Scheme] | None = None  # schemes this instance accepts (None: any, even unsigned)
    challenge: str | None = None  # an Accept-Signature header sent with a 401
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

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
        self.seen.append(seen)
        if self.verify_with is not None:
            signed = HttpRequest.of(request.method, seen.url, seen.headers, body if request.method == "POST" else None)
            verdict = verify(signed, self.verify_with, self.clock())
            seen.verified = verdict.reason.value if hasattr(verdict, "reason") else verdict.scheme  # type: ignore[union-attr]
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


async def node_peers(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run tasks through tests/peers/sig-peers.mjs (Fedify; npm http-message-signatures)."""
    proc = await asyncio.create_subprocess_exec(
        str(NODE), str(PEERS / "sig-peers.mjs"), cwd=str(PEERS),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(tasks).encode()), 60)
    assert proc.returncode == 0, err.decode()
    results: list[dict[str, Any]] = json.loads(out)
    for result in results:
        assert "error" not in result, result["error"]
    return results


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
