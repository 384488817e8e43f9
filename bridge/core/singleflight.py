"""One read for many readers: callers that ask for a key while it is being read wait for
that read instead of sending the same query (a burst of requests or jobs on a cold or
expired cache would otherwise each send it). The caches built on it: `Remembered` here
(one value), `Memo` here (an app's values by key: bridge/jobs/store.py `JobContext.memo`)
and bridge/inbox/keycache.py `KeyCache`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

Keep = Callable[[float, T], None]  # (when the read started, its value)


class SharedReads(Generic[K, T]):
    """Reads under way, by key. A caller that gives up (its request was cancelled) does not
    cancel the read for the others, and a read that fails is not shared after it ends."""

    def __init__(self) -> None:
        self._reading: dict[K, asyncio.Task[T]] = {}

    async def read(self, key: K, load: Callable[[], Awaitable[T]], keep: Keep[T] | None = None) -> T:
        """`load()`'s value, from the read of `key` under way or a new one. `keep` is called
        once with a new read's value, unless `forget(key)` was called while it ran."""
        reading = self._reading.get(key)
        if reading is None or reading.get_loop() is not asyncio.get_running_loop():
            reading = self._reading[key] = asyncio.ensure_future(self._read(key, load, keep))
        return await asyncio.shield(reading)

    def forget(self, key: K) -> None:
        """The next read of `key` starts afresh; the one under way is not kept."""
        self._reading.pop(key, None)

    async def _read(self, key: K, load: Callable[[], Awaitable[T]], keep: Keep[T] | None) -> T:
        me = asyncio.current_task()
        started = time.monotonic()
        try:
            value = await load()
            if keep is not None and self._reading.get(key) is me:
                keep(started, value)
            return value
        finally:
            if self._reading.get(key) is me:
                del self._reading[key]


class Remembered(Generic[T]):
    """`await get()`: the value `load()` gave, read again once `ttl` seconds old."""

    def __init__(self, ttl: float, load: Callable[[], Awaitable[T]]) -> None:
        self.ttl = ttl
        self._load = load
        self._value: tuple[float, T] | None = None
        self._reads: SharedReads[None, T] = SharedReads()

    async def get(self) -> T:
        if self._value is not None and time.monotonic() - self._value[0] <= self.ttl:
            return self._value[1]
        return await self._reads.read(None, self._load, self._keep)

    def forget(self) -> None:
        """Read afresh on the next `get` (a read under way when this is called is not kept)."""
        self._value = None
        self._reads.forget(None)

    def _keep(self, started: float, value: T) -> None:
        self._value = (started, value)


class Memo:
    """Values kept for a while by key, each read once however many ask at once (one per app:
    a job's signing key, a host's signature scheme, a target's webmention endpoint…)."""

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._reads: SharedReads[Hashable, Any] = SharedReads()

    async def get(self, key: Hashable, ttl: float, load: Callable[[], Awaitable[Any]]) -> Any:
        """`load()`'s value, kept for `ttl` seconds: what every job would read again costs one
        query per `ttl`, not one per job, and a burst of jobs asks once, not once each."""
        hit = self._values.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        return await self._reads.read(key, load, lambda started, value: self._keep(key, started, value))

    def peek(self, key: Hashable, default: Any = None) -> Any:
        """The value kept under `key` however old, without reading; `default` when none is."""
        hit = self._values.get(key)
        return default if hit is None else hit[1]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep a value learned otherwise (the scheme a host just accepted), as of now."""
        self._values[key] = (time.monotonic(), value)

    def setdefault(self, key: Hashable, value: Any) -> None:
        """Keep `value` under `key` unless a value is kept already (a read of the same row)."""
        if key not in self._values:
            self.put(key, value)

    def forget(self, key: Hashable) -> None:
        """Drop what is kept under `key`; the next `get` reads afresh (a read under way is not kept)."""
        self._values.pop(key, None)
        self._reads.forget(key)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._values

    def _keep(self, key: Hashable, started: float, value: Any) -> None:
        self._values[key] = (started, value)


class Batched(Generic[K, T]):
    """Reads of many keys asked for in the same moment, as one query: the first `get` of a
    round waits one turn of the event loop, then `load_many` reads every key asked for
    meanwhile (a fan-out's first deliveries to a thousand new hosts: one query, not a
    thousand). Keys `load_many` does not return are read as `missing`."""

    def __init__(self, load_many: Callable[[list[K]], Awaitable[dict[K, T]]], missing: T) -> None:
        self._load_many = load_many
        self._missing = missing
        self._round: dict[K, asyncio.Future[T]] | None = None
        self._reads: set[asyncio.Future[None]] = set()  # the rounds under way (the loop keeps weak references)

    async def get(self, key: K) -> T:
        if self._round is None:
            self._round = {}
            asyncio.get_running_loop().call_soon(self._start)
        waiter = self._round.get(key)
        if waiter is None:
            waiter = self._round[key] = asyncio.get_running_loop().create_future()
        return await asyncio.shield(waiter)

    def _start(self) -> None:
        round_, self._round = self._round or {}, None
        task = asyncio.ensure_future(self._read(round_))
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    async def _read(self, round_: dict[K, asyncio.Future[T]]) -> None:
        try:
            found = await self._load_many(list(round_))
        except Exception as exc:
            for waiter in round_.values():
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for key, waiter in round_.items():
            if not waiter.done():
                waiter.set_result(found.get(key, self._missing))
