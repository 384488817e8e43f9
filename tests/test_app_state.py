"""State per app, not per module (issue 16): caches and host health live on the app's
context and go with it. Before, the block list cache was a module global: a test that
blocked `spam.example` left it blocked for the next test's empty database, and host health
outlived its app the same way."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.appkeys import CONTEXT
from bridge.config import load_config
from bridge.inbox.moderation import BlockList
from bridge.models import Block
from bridge.net.hosts import HostHealth

pytestmark = pytest.mark.usefixtures("database")
SPAMMER = "https://spam.example/users/mallory"


def unsigned_note(actor: str) -> bytes:
    """An activity from `actor`, unsigned: a blocked actor's is answered 202 and dropped
    before its signature is looked at, anyone else's is refused 401."""
    return json.dumps({"id": f"{actor}/statuses/1/activity", "type": "Create", "actor": actor,
                       "object": {"id": f"{actor}/statuses/1", "type": "Note", "attributedTo": actor}}).encode()


async def test_two_apps_in_one_process_do_not_share_the_block_list(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(), env={})
    headers = {"Content-Type": "application/activity+json"}
    async with TestClient(TestServer(make_app(config, workers=False))) as first:
        await Block.create(pattern="spam.example")  # blocked on the first app's dashboard
        first.app[CONTEXT].state(BlockList).forget()
        assert (await first.post("/inbox", data=unsigned_note(SPAMMER), headers=headers)).status == 202  # dropped
        await Block.all().delete()  # the next test's empty database
        async with TestClient(TestServer(make_app(config, workers=False))) as second:
            assert second.app[CONTEXT] is not first.app[CONTEXT]
            assert second.app[CONTEXT].state(BlockList) is not first.app[CONTEXT].state(BlockList)
            # The second app reads its own (empty) table: the spammer is merely unsigned here.
            assert (await second.post("/inbox", data=unsigned_note(SPAMMER), headers=headers)).status == 401
        # The first app still has the block it read, until its table read expires (BLOCKS_TTL): its own state.
        assert (await first.post("/inbox", data=unsigned_note(SPAMMER), headers=headers)).status == 202


async def test_two_apps_in_one_process_keep_their_own_host_health(write_config: Callable[..., Path]) -> None:
    config = load_config(write_config(), env={})
    async with TestClient(TestServer(make_app(config, workers=False))) as first, \
            TestClient(TestServer(make_app(config, workers=False))) as second:
        one, other = first.app[CONTEXT].state(HostHealth), second.app[CONTEXT].state(HostHealth)
        assert one is first.app[CONTEXT].state(HostHealth) and one is not other
        await one.succeeded("social.example")
        assert one.healthy("social.example") and not other.healthy("social.example")
        assert one.limits.try_acquire("social.example")
        assert one.limits.total == 1 and other.limits.total == 0
        one.limits.release("social.example")
