"""The test doubles themselves (tests/fedi.py), for what every other test relies on: without
the Node peers a test skips and says why; the one Node process survives its own death."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests import fedi
from tests.fedi import NodePeers, Peer, keypair, require_node_peers

UNSIGNED = {"op": "hms-cavage-verify", "url": "http://127.0.0.1/", "method": "GET", "headers": {},
            "publicKeyPem": "unused"}


def test_without_the_node_peers_a_test_skips_and_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fedi, "PEERS", tmp_path)
    monkeypatch.setattr(fedi, "NODE", tmp_path / "node_modules" / ".bin" / "node")
    with pytest.raises(pytest.skip.Exception, match="npm ci --prefix tests/peers"):
        require_node_peers()
    # A peer told to check signatures skips the test before it serves anything.
    with pytest.raises(pytest.skip.Exception, match="tests/peers/node_modules is missing"):
        Peer(TestServer(web.Application()), verify_with=keypair("blog")[1])


async def test_the_node_process_is_started_again_after_it_dies() -> None:
    require_node_peers()
    peers = NodePeers()
    try:
        assert await asyncio.to_thread(peers.ask, UNSIGNED) == {"verified": False}
        first = peers.pid
        assert first is not None
        assert await asyncio.to_thread(peers.ask, UNSIGNED) == {"verified": False}
        assert peers.pid == first  # one process for many tasks
        os.kill(first, signal.SIGKILL)
        try:  # seen dead before the task: started again; met dying with it: that task fails
            await asyncio.to_thread(peers.ask, UNSIGNED)
        except RuntimeError as exc:
            assert "sig-peers.mjs --serve" in str(exc)
        assert await asyncio.to_thread(peers.ask, UNSIGNED) == {"verified": False}
        assert peers.pid not in (None, first)
        assert (await asyncio.to_thread(peers.ask, {"op": "no-such-op"}))["error"].startswith("Error: unknown op")
    finally:
        peers.close()
    assert peers.pid is None
