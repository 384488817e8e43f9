"""One read for many readers (bridge/core/singleflight.py), and the caches built on it: the inbox's
key cache and the app's `Memo`."""

from __future__ import annotations

import asyncio

import pytest

from bridge.as2.remote_actor import ResolvedKey
from bridge.core.singleflight import Memo, Remembered
from bridge.inbox.keycache import KeyCache
from bridge.signatures import Rejection


async def test_concurrent_readers_of_an_expired_value_share_one_read() -> None:
    reads: list[int] = []
    gate = asyncio.Event()

    async def load() -> int:
        reads.append(1)
        await gate.wait()
        return len(reads)

    remembered = Remembered(0.2, load)
    readers = [asyncio.create_task(remembered.get()) for _ in range(50)]
    await asyncio.sleep(0.01)
    gate.set()
    assert await asyncio.gather(*readers) == [1] * 50 and len(reads) == 1
    assert await remembered.get() == 1 and len(reads) == 1  # kept for its ttl
    await asyncio.sleep(0.25)
    assert await remembered.get() == 2  # then read again


async def test_a_cancelled_reader_does_not_cancel_the_others_read() -> None:
    gate = asyncio.Event()

    async def load() -> str:
        await gate.wait()
        return "value"

    remembered = Remembered(10, load)
    first, second = asyncio.create_task(remembered.get()), asyncio.create_task(remembered.get())
    await asyncio.sleep(0.01)
    first.cancel()
    gate.set()
    assert await second == "value"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_forget_drops_the_value_and_a_read_already_under_way() -> None:
    values = iter(["old", "new"])
    gate = asyncio.Event()

    async def load() -> str:
        value = next(values)
        if value == "old":
            await gate.wait()
        return value

    remembered = Remembered(10, load)
    stale = asyncio.create_task(remembered.get())
    await asyncio.sleep(0.01)
    remembered.forget()  # e.g. a block added while the table was being read
    assert await remembered.get() == "new"
    gate.set()
    assert await stale == "old"  # its reader gets what it asked for, but it is not kept
    assert await remembered.get() == "new"


async def test_a_failed_read_is_not_kept() -> None:
    calls: list[int] = []

    async def load() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        return 7

    remembered = Remembered(10, load)
    with pytest.raises(ConnectionError):
        await remembered.get()
    assert await remembered.get() == 7


class SlowResolver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.gate = asyncio.Event()

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | Rejection:
        self.calls.append((key_id, refresh))
        await self.gate.wait()
        return ResolvedKey(key_id=key_id, owner="https://a.example/users/alice", pem="PEM")

    async def remember(self, key: ResolvedKey, *, using_db: object = None) -> None:
        pass


async def test_key_cache_reads_a_key_once_for_a_burst_and_a_refresh_reads_again() -> None:
    inner = SlowResolver()
    cache = KeyCache(inner)  # type: ignore[arg-type]
    burst = [asyncio.create_task(cache.resolve_key("https://a.example/users/alice#main-key")) for _ in range(30)]
    await asyncio.sleep(0.01)
    inner.gate.set()
    keys = await asyncio.gather(*burst)
    assert len(inner.calls) == 1 and all(key is keys[0] for key in keys)
    await cache.resolve_key("https://a.example/users/alice#main-key")
    assert len(inner.calls) == 1  # from memory
    await cache.resolve_key("https://a.example/users/alice#main-key", refresh=True)
    assert inner.calls[-1] == ("https://a.example/users/alice#main-key", True) and len(inner.calls) == 2


async def test_memo_jobs_share_a_read_that_one_cancelled_job_does_not_end() -> None:
    """A job cancelled while it waits (the signing-key warm-up at shutdown) leaves the read
    to the jobs still waiting on it."""
    memo = Memo()
    reads: list[int] = []
    gate = asyncio.Event()

    async def load() -> str:
        reads.append(1)
        await gate.wait()
        return "key"

    jobs = [asyncio.create_task(memo.get(("signing-key", "blog"), 30, load)) for _ in range(5)]
    await asyncio.sleep(0.01)
    jobs[0].cancel()
    gate.set()
    assert await asyncio.gather(*jobs[1:]) == ["key"] * 4 and len(reads) == 1
    with pytest.raises(asyncio.CancelledError):
        await jobs[0]
    assert await memo.get(("signing-key", "blog"), 30, load) == "key" and len(reads) == 1


async def test_memo_forget_during_a_read_keeps_the_fresh_value_not_the_stale_one() -> None:
    memo = Memo()
    values = iter(["old key", "rotated key"])
    gate = asyncio.Event()

    async def load() -> str:
        value = next(values)
        if value == "old key":
            await gate.wait()
        return value

    stale = asyncio.create_task(memo.get("k", 30, load))
    await asyncio.sleep(0.01)
    memo.forget("k")  # a key rotation while the old key was being read
    assert await memo.get("k", 30, load) == "rotated key"
    gate.set()
    assert await stale == "old key"
    assert await memo.get("k", 30, load) == "rotated key"


async def test_keys_asked_for_in_the_same_moment_are_read_in_one_round() -> None:
    from bridge.core.singleflight import Batched

    rounds: list[list[str]] = []

    async def load_many(keys: list[str]) -> dict[str, int]:
        rounds.append(sorted(keys))
        await asyncio.sleep(0.01)
        return {k: len(k) for k in keys if k != "none"}

    batched: Batched[str, int | None] = Batched(load_many, None)
    got = await asyncio.gather(*(batched.get(k) for k in ["a", "bb", "a", "none", "ccc"]))
    assert got == [1, 2, 1, None, 3]  # one read each, a key asked twice once, a missing one as missing
    assert rounds == [["a", "bb", "ccc", "none"]]
    assert await batched.get("dddd") == 4 and rounds[-1] == ["dddd"]  # a later moment: a round of its own

    async def broken(keys: list[str]) -> dict[str, int]:
        raise OSError("database gone")

    failing: Batched[str, int | None] = Batched(broken, None)
    results = await asyncio.gather(failing.get("x"), failing.get("y"), return_exceptions=True)
    assert [type(r) for r in results] == [OSError, OSError]  # every reader of the round hears it
