"""One read for many readers: a value kept for a while, and read again by one caller only
when it expires, however many ask at once (a burst of requests on a cold or expired cache
would otherwise each send the same query)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Remembered(Generic[T]):
    """`await get()`: the value `load()` gave, read again once `ttl` seconds old."""

    def __init__(self, ttl: float, load: Callable[[], Awaitable[T]]) -> None:
        self.ttl = ttl
        self._load = load
        self._value: tuple[float, T] | None = None
        self._reading: asyncio.Future[T] | None = None
        self._generation = 0

    async def get(self) -> T:
        if self._value is not None and time.monotonic() - self._value[0] <= self.ttl:
            return self._value[1]
        reading = self._reading
        if reading is None or reading.done() or reading.get_loop() is not asyncio.get_running_loop():
            reading = self._reading = asyncio.ensure_future(self._read(self._generation))
        # Shielded: a reader that gives up (its request was cancelled) does not cancel the others' read.
        return await asyncio.shield(reading)

    def forget(self) -> None:
        """Read afresh on the next `get` (a read under way when this is called is not kept)."""
        self._value = None
        self._reading = None
        self._generation += 1

    async def _read(self, generation: int) -> T:
        started = time.monotonic()
        value = await self._load()
        if generation == self._generation:
            self._value = (started, value)
        return value
