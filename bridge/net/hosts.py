"""Remote hosts' health, as one app sees it: delivery slots per host, which hosts answered
lately, and their failure record (`RemoteHost`).

One `HostHealth` per app (`JobContext.state(HostHealth)`), shared by its deliveries and its
inbox; nothing here lives in a module global, so two apps in one process share nothing.
- Slots: at most `delivery.concurrency` requests in all, and to one host at most its
  share, `delivery.per_host_concurrency`, once it answers: one at a time to a host that
  has not answered yet (a host that never answers holds one slot, not its whole share) or
  whose last attempt had no answer or a 5xx (until it answers again); a 429 halves the
  host's share (down to one) for SLOW_DOWN_SECONDS, or its Retry-After if longer.
  `acquire` waits up to SLOT_PATIENCE_SECONDS for a busy host's slot (a host's first
  answer, or a slot freed), WAITERS_PER_SLOT times the host's share at most (enough to
  keep its slots busy, not enough to keep the worker from other hosts for long); the
  others, and those of a failing host (no waiting for it), are deferred for
  `defer_seconds`: the job goes back to the queue and does not sit in a worker slot.
- Cooling down (a circuit breaker, as Mastodon's Stoplight): after an attempt with no
  answer (refused, reset, timed out), or after COOL_AFTER_5XX 5xx in a row (one 503 is
  usually a moment's), no new request goes to the host for COOL_SECONDS, doubling with
  each further failure up to COOL_MAX_SECONDS: its other deliveries do not each try it in
  turn, they fail at once and come back when it has cooled (bridge/publish/delivery.py);
  the first one then is the probe. An answer other than a 5xx ends it.
- A host that answered 2xx in the last HEALTHY_SECONDS is healthy: its record is neither
  read nor reset for each delivery of a fan-out.
- A failure counts a failure day (`failure_days`); `unavailable_after_days` separate days
  without one success mark the host unavailable (its deliveries are dropped but one try
  a day: bridge/publish/delivery.py) until it answers, or sends us a signed request.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bridge.config import Config, DeliveryConfig
from bridge.core.clock import utcnow
from bridge.core.singleflight import Batched, Memo
from bridge.models import RemoteHost

log = logging.getLogger("bridge.delivery")  # the events operators know: host.unavailable

SLOT_PATIENCE_SECONDS = 2.0  # a delivery waits this long for a busy host's slot, then is deferred
WAITERS_PER_SLOT = 4  # deliveries waiting for a host: at most this many per slot of its share
BUSY_RETRY_SECONDS = 1.0  # a deferred delivery (no free slot for its host) comes back after this
FAILING_RETRY_SECONDS = 2.0  # … and at least this, when the host's last attempt failed
COOL_AFTER_5XX = 3  # 5xx answers in a row that cool a host down (no answer at all: the first does)
COOL_SECONDS = 5.0  # then no new request to the host for this long (the retries' first step)…
COOL_MAX_SECONDS = 300.0  # …doubling with each failure in a row, up to this
SLOW_DOWN_SECONDS = 60.0  # a 429 halves the host's share for at least this long
SLOW_DOWN_MAX_SECONDS = 3600.0  # and at most this long, whatever its Retry-After says
HEALTHY_SECONDS = 30.0  # a host that answered 2xx this recently needs no record read or reset
RECORD_TTL = 1.0  # seconds a host's record, read for a delivery, serves the next ones of the burst
CHUNK = 500  # hosts whose records one query reads


class Unread:
    """`HostHealth.succeeded` was not told what the host's record said."""


UNREAD = Unread()


def failure_days(failures: int, last_failure_at: datetime | None, now: datetime) -> int:
    """Separate days with a failure: a failure on a new UTC day counts one more."""
    if last_failure_at is None or last_failure_at.astimezone(UTC).date() != now.astimezone(UTC).date():
        return failures + 1
    return failures


class Limits:
    """Delivery slots: global, per host, and how many a host gets now (see the module
    docstring). In memory, one per app. `try_acquire` never waits; `acquire` waits a
    moment for a busy host's slot."""

    def __init__(self, settings: DeliveryConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.waiting = 0  # deliveries waiting for a slot, each in its worker slot
        self.busy: dict[str, int] = {}
        self.total = 0
        self._answering: set[str] = set()  # hosts whose last attempt got an answer (not a 5xx)
        self._failing: set[str] = set()  # hosts whose last attempt got no answer or a 5xx
        self._slowed: dict[str, tuple[int, float]] = {}  # host → (its share after a 429, until clock())
        self._cool: dict[str, tuple[int, float, float]] = {}  # host → (failures in a row, cool until clock(), step)
        self._waiters: dict[str, collections.deque[asyncio.Future[None]]] = {}  # woken in order

    def limit(self, host: str) -> int:
        """How many requests `host` may have in flight now."""
        share = self.settings.per_host_concurrency if host in self._answering else 1
        slowed = self._slowed.get(host)
        if slowed is not None:
            if self.clock() < slowed[1]:
                return min(share, slowed[0])
            del self._slowed[host]
        return share

    def cooling(self, host: str) -> float:
        """Seconds before a new request may go to `host` (0: now): it failed just now."""
        cool = self._cool.get(host)
        return max(0.0, cool[1] - self.clock()) if cool is not None else 0.0

    def try_acquire(self, host: str) -> bool:
        if self.total >= self.settings.concurrency or self.busy.get(host, 0) >= self.limit(host) \
                or (host in self._failing and self.cooling(host) > 0):
            return False
        self.busy[host] = self.busy.get(host, 0) + 1
        self.total += 1
        return True

    async def acquire(self, host: str, patience: float = SLOT_PATIENCE_SECONDS) -> bool:
        """A slot for `host`, waiting up to `patience` seconds while its slots are taken (a
        host not heard from yet: until its first answer). False at once when the host is
        failing, when every slot of the process is taken, or when WAITERS_PER_SLOT times the
        host's share already wait for it: the job is then deferred, out of the worker's slots."""
        if self.try_acquire(host):
            return True
        if host in self._failing or self.total >= self.settings.concurrency \
                or len(self._waiters.get(host, ())) >= WAITERS_PER_SLOT * self.settings.per_host_concurrency:
            return False
        self.waiting += 1
        try:
            return await self._wait(host, patience)
        finally:
            self.waiting -= 1

    async def _wait(self, host: str, patience: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while loop.time() < deadline:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(host, collections.deque()).append(waiter)
            woken = False
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
                woken = True
            except TimeoutError:
                return False
            finally:
                self._unqueue(host, waiter)
                if not woken and waiter.done() and not waiter.cancelled():
                    self._wake(host, 1)  # out of patience or cancelled: a wake-up it got goes to the next
            if self.try_acquire(host):
                return True
            if host in self._failing:
                return False
        return False

    def release(self, host: str) -> None:
        self.total -= 1
        self.busy[host] -= 1
        if not self.busy[host]:
            del self.busy[host]
        self._wake(host, 1)

    def _wake(self, host: str, count: int) -> None:
        queue = self._waiters.get(host)
        while queue and count > 0:
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    def _unqueue(self, host: str, waiter: asyncio.Future[None]) -> None:
        queue = self._waiters.get(host)
        if queue is not None:
            if waiter in queue:
                queue.remove(waiter)
            if not queue:
                del self._waiters[host]

    def defer_seconds(self, host: str) -> float:
        """How long a delivery that found no free slot for `host` waits before trying again:
        a failing host's cooling down, or while its probe runs, the step it last cooled for."""
        if host not in self._failing:
            return BUSY_RETRY_SECONDS
        cool = self._cool.get(host)
        return max(FAILING_RETRY_SECONDS, self.cooling(host) or (cool[2] if cool else 0.0))

    def failing(self, host: str) -> bool:
        return host in self._failing

    def answered(self, host: str, status: int | None, retry_after: float | None = None) -> None:
        """What an attempt to `host` got: None for no answer (a timeout, a refused or reset
        connection), else the status (and a 429's Retry-After in seconds, if any)."""
        if status is None or status >= 500:
            self._answering.discard(host)
            self._failing.add(host)
            fails = self._cool[host][0] + 1 if host in self._cool else 1
            until = step = 0.0
            if status is None or fails >= COOL_AFTER_5XX:
                doublings = fails - 1 if status is None else fails - COOL_AFTER_5XX
                step = min(COOL_MAX_SECONDS, COOL_SECONDS * 2 ** min(doublings, 16))
                until = self.clock() + step
            self._cool[host] = (fails, until, step)
            self._wake(host, len(self._waiters.get(host, ())))  # those waiting give up now
            return
        self._failing.discard(host)
        self._cool.pop(host, None)
        self._answering.add(host)  # 2xx, or a 4xx: the server is up and speaking
        if status == 429:
            seconds = min(SLOW_DOWN_MAX_SECONDS, max(SLOW_DOWN_SECONDS, retry_after or 0.0))
            self._slowed[host] = (max(1, self.limit(host) // 2), self.clock() + seconds)
        self._wake(host, self.limit(host) - self.busy.get(host, 0))  # a first answer opens its share


async def _rows_of(hosts: list[str]) -> dict[str, RemoteHost | None]:
    """The records of `hosts`, by host (a host with none is left out), in one query per
    CHUNK of hosts."""
    out: dict[str, RemoteHost | None] = {}
    for start in range(0, len(hosts), CHUNK):
        for row in await RemoteHost.filter(host__in=hosts[start:start + CHUNK]):
            out[row.host] = row
    return out


class HostHealth:
    """One app's view of remote hosts (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.settings = config.delivery
        self.limits = Limits(config.delivery)
        self._healthy: dict[str, float] = {}  # host → when it last answered 2xx (monotonic)
        self._answered: dict[str, float] = {}  # host → when its signed request last reset its record
        self._records = Memo()
        self._rows: Batched[str, RemoteHost | None] = Batched(_rows_of, None)
        self._failed_here: set[str] = set()  # hosts whose failure this app wrote: a success clears it

    def healthy(self, host: str) -> bool:
        return time.monotonic() - self._healthy.get(host, float("-inf")) < HEALTHY_SECONDS

    async def record(self, host: str) -> RemoteHost | None:
        """The host's failure record, read once for a burst of deliveries (None: never failed)."""
        row = await self._records.get(host, RECORD_TTL, lambda: self._rows.get(host))
        if row is not None and row.unavailable_since is not None:
            self._records.forget(host)  # an unavailable host's daily try is decided on a fresh read
        return row  # type: ignore[no-any-return]

    async def succeeded(self, host: str, known: RemoteHost | None | Unread = UNREAD) -> None:
        """The host answered 2xx: its failure record is cleared (once per HEALTHY_SECONDS). No
        write when `known`, the record read for this delivery, showed no failure and none was
        written here since: a fan-out's first contact with a thousand hosts writes nothing."""
        clean = not isinstance(known, Unread) and host not in self._failed_here \
            and (known is None or (known.failures == 0 and known.unavailable_since is None))
        if not self.healthy(host) and not clean:
            await RemoteHost.filter(host=host).exclude(failures=0, unavailable_since=None).update(
                failures=0, unavailable_since=None, last_failure_at=None, last_error=None)
        self._failed_here.discard(host)
        self._healthy[host] = time.monotonic()

    async def failed(self, host: str, error: str) -> None:
        """Count a failure day for the host; past the limit it becomes unavailable."""
        self._failed_here.add(host)
        self._healthy.pop(host, None)
        self._answered.pop(host, None)
        self._records.forget(host)  # the next delivery reads what is written here
        now = utcnow()
        row, _ = await RemoteHost.get_or_create(host=host)
        days = failure_days(row.failures, row.last_failure_at, now)
        values: dict[str, Any] = {"failures": days, "last_failure_at": now, "last_error": error[:2000]}
        if days >= self.settings.unavailable_after_days and row.unavailable_since is None:
            values["unavailable_since"] = now
            log.warning("host.unavailable host=%s failure_days=%d error=%s", host, days, error)
        await RemoteHost.filter(host=host).update(**values)

    async def answered(self, host: str) -> None:
        """The host sent us a signed request: it is up again (one write per host and
        HEALTHY_SECONDS at most: a busy sender's every request does not reach the database)."""
        now = time.monotonic()
        if now - self._answered.get(host, float("-inf")) < HEALTHY_SECONDS:
            return
        self._answered[host] = now  # before the write: the requests arriving meanwhile need not write too
        try:
            await RemoteHost.filter(host=host).exclude(failures=0, unavailable_since=None).update(
                failures=0, unavailable_since=None, last_failure_at=None)
        except BaseException:
            self._answered.pop(host, None)
            raise
        self._records.forget(host)
