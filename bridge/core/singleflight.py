"""One read for many readers: callers that ask for a key while it is being read wait for
that read instead of sending the same query (a burst of requests or jobs on a cold or
expired cache would otherwise each send it). The caches built on it: `Remembered` here
(one value), `queue.memoized` (a job context's values) and `inbox_store.KeyCache`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

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
