"""A bridge app with its inboxes under aiohttp's TestServer, a real peer instance serving
alice's actor, and the clock fixed: the stage of the inbox door tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from ipaddress import ip_network
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app, new_http_session
from bridge.config import Config, SecurityConfig
from bridge.inbox.routes import TRUST, Trust
from bridge.keys import INSTANCE_ACTOR, active_key
from bridge.net.remote import RemoteActors
from bridge.signatures import Scheme, SigningKey
from tests.fedi import AS2, FakeResolver, Peer, keypair, signed_headers

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
PUBLIC = "https://bridge.example"
INBOX = "/users/blog/inbox"
SHARED = "/inbox"
KEY_TIMEOUT = 1.0  # seconds a key fetch may take here (the daemon allows 10): a bound, not an assertion


def clock() -> datetime:
    return NOW


@dataclass
class Stage:
    client: TestClient
    peer: Peer
    alice: str
    key: SigningKey

    def activity(self, **changes: Any) -> dict[str, Any]:
        activity: dict[str, Any] = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.alice}/statuses/1/activity", "type": "Create", "actor": self.alice,
            "object": {"id": f"{self.alice}/statuses/1", "type": "Note", "attributedTo": self.alice,
                       "content": "<p>Nice post!</p>", "inReplyTo": f"{PUBLIC}/users/blog/posts/1"},
        }
        activity.update(changes)
        return activity

    def signed(self, body: bytes, *, path: str = INBOX, key: SigningKey | None = None, now: datetime = NOW,
               scheme: Scheme = Scheme.CAVAGE) -> dict[str, str]:
        return signed_headers("POST", PUBLIC + path, body, key or self.key, now, scheme)

    async def post(self, body: bytes, headers: dict[str, str], *, path: str = INBOX) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(path, data=body, headers=headers)
        text = await response.text()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {"error": f"(not JSON) {text[:80]}"}
        return response.status, answer


@asynccontextmanager
async def stage(config: Config, *, strict: bool = False, resolver: FakeResolver | None = None,
                allowed: tuple[str, ...] = ()) -> AsyncIterator[Stage]:
    """strict: `security.allow_private_addresses = false` (the production setting)."""
    if strict:
        config = replace(config, security=SecurityConfig(allow_private_addresses=False))
    peer = await Peer.start(clock=clock)
    session = new_http_session(config, resolver=resolver, allowed_networks=[ip_network(a) for a in allowed])
    app = make_app(config, workers=False)
    app[TRUST] = Trust(RemoteActors(session, config.server.base_url, clock=clock, timeout=KEY_TIMEOUT), clock=clock)
    private, public = keypair("alice")
    alice = peer.actor("alice", public)
    try:
        async with TestClient(TestServer(app)) as client:
            peer.verify_with = (await active_key(INSTANCE_ACTOR)).public_pem
            yield Stage(client, peer, alice, SigningKey(f"{alice}#main-key", private))
    finally:
        await session.close()
        await peer.close()


__all__ = ["AS2", "INBOX", "NOW", "PUBLIC", "SHARED", "Stage", "stage"]
