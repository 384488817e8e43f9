"""Signing keys are read and checked once, before the first delivery needs them."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bridge.config import Config
from bridge.jobs.store import JobContext
from bridge.keys import ensure_keys
from bridge.models import ActorKey
from bridge.publish.delivery import warm_signing_keys
from bridge.signatures import base as sigbase

pytestmark = pytest.mark.usefixtures("database")


async def test_warming_loads_each_blogs_key_once_and_later_reads_come_from_memory(config: Config) -> None:
    await ensure_keys([blog.name for blog in config.blogs])
    ctx = JobContext(config=config)
    await warm_signing_keys(ctx)
    name = config.blogs[0].name
    key = ctx.memo.peek(("signing-key", name))
    stored = await ActorKey.get(actor=name, active=True, algorithm="rsa")
    assert key.private_pem == stored.private_pem and key.key_id.endswith("#main-key")
    assert sigbase._load_private_key.cache_info().currsize >= 1  # parsed and checked already
    await ActorKey.all().delete()
    await warm_signing_keys(ctx)  # remembered: no query
    assert ctx.memo.peek(("signing-key", name)) is key


async def test_warming_without_keys_yet_logs_and_goes_on(config: Config, caplog: pytest.LogCaptureFixture) -> None:
    await ActorKey.all().delete()  # a worker started before the first `bridge migrate` made them
    ctx = JobContext(config=config)
    with caplog.at_level(logging.INFO, logger="bridge.delivery"):
        await warm_signing_keys(ctx)
    assert f"keys.not_loaded actor={config.blogs[0].name} error=NoKey" in caplog.text
    assert ("signing-key", config.blogs[0].name) not in ctx.memo


async def test_threads_that_miss_the_key_cache_together_parse_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    await ensure_keys(["parsed-once"])
    pem = (await ActorKey.get(actor="parsed-once", algorithm="rsa")).private_pem
    sigbase._load_private_key.cache_clear()
    calls: list[int] = []
    real = sigbase.serialization.load_pem_private_key
    start = threading.Barrier(4)

    def counting(data: bytes, password: bytes | None) -> object:
        calls.append(1)
        return real(data, password)

    monkeypatch.setattr(sigbase.serialization, "load_pem_private_key", counting)

    def load() -> object:
        start.wait()
        return sigbase.load_private_key(pem)

    with ThreadPoolExecutor(4) as pool:
        keys = list(pool.map(lambda _n: load(), range(4)))
    assert len(calls) == 1 and all(k is keys[0] for k in keys)
