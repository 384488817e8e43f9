"""Hostile key servers: the signer's keyId points at a server that is slow, trickles,
sends gigabytes, loops redirects, lies about ids, or sits at a private address.

Every remote here is a real aiohttp server on 127.0.0.1 (tests/fedi.py `Peer`). With
`security.allow_private_addresses = true` (how the tests reach 127.0.0.1) the fetch is
made and must end within its bounds (the key fetch's 1 s timeout here, 1 MB); with it
false (production) a private address is refused before any connection: the server sees
nothing. Each case: 401 with the reason, one `inbox.rejected` record, no row changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from bridge.config import Config
from tests.fedi import FakeResolver, Peer, keypair
from tests.hostile.inbox_world import Stage, stage
from tests.hostile.table import Case, assert_logged_once, ids, record, snapshot, watch

Setup = Callable[[Peer], None]  # arranges what the peer serves at /users/alice
ALICE = "/users/alice"


def serve(document: dict[str, Any] | bytes, status: int = 200, content_type: str = "application/activity+json",
          headers: dict[str, str] | None = None) -> Setup:
    return lambda peer: peer.serve(ALICE, document, status, content_type, headers)


def handler(make: Callable[[Peer], Callable[[web.Request], Any]]) -> Setup:
    def setup(peer: Peer) -> None:
        peer.routes[ALICE] = make(peer)
    return setup


def _alice(peer: Peer, **extra: Any) -> dict[str, Any]:
    uri = peer.url(ALICE)
    doc = {"@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
           "id": uri, "type": "Person", "inbox": f"{uri}/inbox",
           "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": keypair("alice")[1]}}
    doc.update(extra)
    return {k: v for k, v in doc.items() if v is not ...}


def _slow(peer: Peer) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)  # never reached: the fetch gives up after its timeout
        return web.json_response(_alice(peer), content_type="application/activity+json")
    return answer


def _trickle(peer: Peer) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        await response.prepare(request)
        for _ in range(300):
            await response.write(b" ")
            await asyncio.sleep(0.1)
        return response
    return answer


def _endless(peer: Peer) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        await response.prepare(request)
        await response.write(b'{"pad": "')
        for _ in range(10_000):  # 640 MB if anyone read it all
            await response.write(b"x" * 65536)
        return response
    return answer


def _claims_gigabytes(peer: Peer) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json",
                                               "Content-Length": str(8 * 1024 ** 3)})
        await response.prepare(request)
        await response.write(b"{")
        await asyncio.sleep(30)
        return response
    return answer


def _reset(peer: Peer) -> Callable[[web.Request], Any]:
    async def answer(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()  # RST, no answer
        await asyncio.sleep(1)
        return web.Response()
    return answer


def _loop(peer: Peer) -> Setup:
    def setup(p: Peer) -> None:
        p.serve(ALICE, b"", 302, headers={"Location": p.url("/users/alice2")})
        p.serve("/users/alice2", b"", 302, headers={"Location": p.url(ALICE)})
    return setup


ALLOWED: list[Case] = [
    Case("key server slower than the timeout", 401, "key_fetch_failed", handler(_slow), {"detail": "timeout"}),
    Case("key server trickles one byte at a time", 401, "key_fetch_failed", handler(_trickle), {"detail": "timeout"}),
    Case("key document streams endlessly", 401, "key_fetch_failed", handler(_endless), {"detail": "larger than"}),
    Case("key document claims 8 GB", 401, "key_fetch_failed", handler(_claims_gigabytes), {"detail": "larger than"}),
    Case("key document 2 MB", 401, "key_fetch_failed", lambda p: p.serve(ALICE, _alice(p, pad="x" * 2 * 1024 * 1024)),
         {"detail": "larger than"}),
    Case("key server resets the connection", 401, "key_fetch_failed", handler(_reset)),
    Case("key server redirect loop", 401, "key_fetch_failed", _loop(None)),  # type: ignore[arg-type]
    Case("key server redirects to itself", 401, "key_fetch_failed",
         lambda p: p.serve(ALICE, b"", 301, headers={"Location": p.url(ALICE)})),
    Case("key server answers 500", 401, "key_fetch_failed", serve({"error": "boom"}, 500)),
    Case("key server answers 429", 401, "key_fetch_failed", serve({"error": "slow down"}, 429)),
    Case("key document 404", 401, "unknown_key", serve({"error": "not found"}, 404)),
    Case("key document 410", 401, "unknown_key", serve({"error": "gone"}, 410)),
    Case("actor document whose id does not match", 401, "key_fetch_failed",
         lambda p: p.serve(ALICE, _alice(p, id=p.url("/users/bob"))), {"detail": "not the URL asked for"}),
    Case("actor document without an id", 401, "key_fetch_failed", lambda p: p.serve(ALICE, _alice(p, id=...))),
    Case("actor document on another host's id", 401, "key_fetch_failed",
         lambda p: p.serve(ALICE, _alice(p, id="https://victim.example/users/alice"))),
    Case("key document is HTML", 401, "key_fetch_failed", serve(b"<html>alice</html>", content_type="text/html"),
         {"detail": "content type"}),
    Case("key document is not JSON", 401, "key_fetch_failed", serve(b"{alice")),
    Case("key document is a JSON array", 401, "key_fetch_failed", serve(b"[1, 2, 3]")),
    Case("key document nested 100 000 deep", 401, "key_fetch_failed", serve(b"[" * 100_000 + b"]" * 100_000)),
    Case("actor without a publicKey", 401, "unknown_key", lambda p: p.serve(ALICE, _alice(p, publicKey=...))),
    Case("actor whose key has another id", 401, "unknown_key",
         lambda p: p.serve(ALICE, _alice(p, publicKey={"id": p.url("/users/alice#other"), "owner": p.url(ALICE),
                                                       "publicKeyPem": keypair("alice")[1]}))),
    Case("actor whose publicKeyPem is garbage", 401, "unknown_key",
         lambda p: p.serve(ALICE, _alice(p, publicKey={"id": p.url("/users/alice#main-key"), "owner": p.url(ALICE),
                                                       "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nAAAA\n"}))),
    Case("actor whose publicKey is a number", 401, "unknown_key", lambda p: p.serve(ALICE, _alice(p, publicKey=7))),
    Case("actor document whose type is an object", 401, "unknown_key",
         lambda p: p.serve(ALICE, _alice(p, type={"@id": "Person"}, inbox=...))),  # was a TypeError: 500
    Case("a Note (no inbox) instead of an actor", 401, "unknown_key",
         lambda p: p.serve(ALICE, _alice(p, type="Note", inbox=...))),
]


async def _run(s: Stage, case: Case, caplog: pytest.LogCaptureFixture, door: str, key_id: str | None = None,
               actor: str | None = None) -> dict[str, Any]:
    activity = s.activity() if actor is None else s.activity(actor=actor, id=f"{actor}/statuses/1/activity",
                                                             object=f"{actor}/statuses/1")
    body = json.dumps(activity).encode()
    key = s.key if key_id is None else type(s.key)(key_id, s.key.private_pem)
    headers = s.signed(body, key=key)
    before = await snapshot()
    caplog.clear()
    status, answer = await s.post(body, headers)
    after = await snapshot()
    record(door, case, got_status=status, got_reason=str(answer.get("error")), detail=str(answer.get("detail", "")),
           db_unchanged=before == after)
    assert (status, answer.get("error")) == (case.status, case.reason), answer
    if "detail" in case.options:
        assert case.options["detail"] in answer["detail"], answer
    assert_logged_once(caplog, "inbox.rejected", f"reason={case.reason}")
    assert after == before
    return answer


@pytest.mark.parametrize("case", ALLOWED, ids=ids(ALLOWED))
async def test_hostile_key_server(database: Config, caplog: pytest.LogCaptureFixture, case: Case) -> None:
    watch(caplog, "bridge.inbox")
    async with stage(database) as s:
        case.send(s.peer)
        await _run(s, case, caplog, "inbox: hostile key server")


# With allow_private_addresses = false: names resolving to private addresses, and literals.
PRIVATE: list[Case] = [
    Case("keyId at 127.0.0.1 (literal)", 401, "key_fetch_failed", None, {"host": "127.0.0.1", "detail": "loopback"}),
    Case("keyId at localhost", 401, "key_fetch_failed", None, {"name": "localhost", "to": "127.0.0.1"}),
    Case("keyId at a name resolving to 10.0.0.5", 401, "key_fetch_failed", None, {"to": "10.0.0.5", "detail": "private"}),
    Case("keyId at a name resolving to 192.168.1.1", 401, "key_fetch_failed", None, {"to": "192.168.1.1"}),
    Case("keyId at a name resolving to 172.16.0.1", 401, "key_fetch_failed", None, {"to": "172.16.0.1"}),
    Case("keyId at cloud metadata 169.254.169.254", 401, "key_fetch_failed", None, {"to": "169.254.169.254"}),
    Case("keyId at a name resolving to 0.0.0.0", 401, "key_fetch_failed", None, {"to": "0.0.0.0"}),
    Case("keyId at a name resolving to 100.64.0.1 (CGNAT)", 401, "key_fetch_failed", None, {"to": "100.64.0.1"}),
    Case("keyId at a name resolving to ::1", 401, "key_fetch_failed", None, {"to": "::1"}),
    Case("keyId at a name resolving to fd00::1", 401, "key_fetch_failed", None, {"to": "fd00::1"}),
    Case("keyId at a name resolving to ::ffff:127.0.0.1", 401, "key_fetch_failed", None, {"to": "::ffff:127.0.0.1"}),
    Case("keyId at a name with public and private addresses", 401, "key_fetch_failed", None,
         {"to": "93.184.216.34,10.1.2.3"}),
    Case("keyId at [::1] (literal)", 401, "key_fetch_failed", None, {"host": "[::1]"}),
    Case("keyId at 2130706433 (decimal 127.0.0.1)", 401, "key_fetch_failed", None, {"host": "2130706433"}),
]


@pytest.mark.parametrize("case", PRIVATE, ids=ids(PRIVATE))
async def test_key_at_a_private_address(config: Config, caplog: pytest.LogCaptureFixture, case: Case) -> None:
    from bridge import db
    await db.migrate(config.database)
    watch(caplog, "bridge.inbox")
    name = case.options.get("name", "internal.example")
    table = {name: case.options["to"].split(",")} if "to" in case.options else {}
    resolver = FakeResolver(table)
    try:
        async with stage(config, strict=True, resolver=resolver) as s:
            host = case.options.get("host", name)
            actor = f"http://{host}:{s.peer.server.port}/users/alice"
            answer = await _run(s, case, caplog, "inbox: keyId at a private address", key_id=f"{actor}#main-key",
                                actor=actor)
            if "detail" in case.options:
                assert case.options["detail"] in answer["detail"], answer
            assert s.peer.seen == []  # refused before any connection
    finally:
        await db.close_db()
