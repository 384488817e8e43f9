"""Remote hosts' health, as one app sees it: delivery slots per host, which hosts answered
lately, and their failure record (`RemoteHost`).

One `HostHealth` per app (`JobContext.state(HostHealth)`), shared by its deliveries and its
inbox; nothing here lives in a module global, so two apps in one process share nothing.
- Slots: at most `delivery.per_host_concurrency` requests to one host and
  `delivery.concurrency` in all; `try_acquire` never waits (a busy host's job is deferred
  and does not sit in a worker slot).
- A host that answered 2xx in the last HEALTHY_SECONDS is healthy: its record is neither
  read nor reset for each delivery of a fan-out.
- A failure counts a failure day (`failure_days`); `unavailable_after_days` separate days
  without one success mark the host unavailable (its deliveries are dropped but one try
  a day: bridge/publish/delivery.py) until it answers, or sends us a signed request.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from bridge.config import Config, DeliveryConfig
from bridge.core.clock import utcnow
from bridge.core.singleflight import Memo
from bridge.models import RemoteHost

log = logging.getLogger("bridge.delivery")  # the events operators know: host.unavailable

HEALTHY_SECONDS = 30.0  # a host that answered 2xx this recently needs no record read or reset
RECORD_TTL = 1.0  # seconds a host's record, read for a delivery, serves the next ones of the burst


def failure_days(failures: int, last_failure_at: datetime | None, now: datetime) -> int:
    """Separate days with a failure: a failure on a new UTC day counts one more."""
    if last_failure_at is None or last_failure_at.astimezone(UTC).date() != now.astimezone(UTC).date():
        return failures + 1
    return failures


class Limits:
    """Per-host and global delivery slots. `try_acquire` never waits."""

    def __init__(self, settings: DeliveryConfig) -> None:
        self.settings = settings
        self.busy: dict[str, int] = {}
        self.total = 0

    def try_acquire(self, host: str) -> bool:
        if self.total >= self.settings.concurrency or self.busy.get(host, 0) >= self.settings.per_host_concurrency:
            return False
        self.busy[host] = self.busy.get(host, 0) + 1
        self.total += 1
        return True

    def release(self, host: str) -> None:
        self.total -= 1
        self.busy[host] -= 1
        if not self.busy[host]:
            del self.busy[host]


class HostHealth:
    """One app's view of remote hosts (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.settings = config.delivery
        self.limits = Limits(config.delivery)
        self._healthy: dict[str, float] = {}  # host → when it last answered 2xx (monotonic)
        self._answered: dict[str, float] = {}  # host → when its signed request last reset its record
        self._records = Memo()

    def healthy(self, host: str) -> bool:
        return time.monotonic() - self._healthy.get(host, float("-inf")) < HEALTHY_SECONDS

    async def record(self, host: str) -> RemoteHost | None:
        """The host's failure record, read once for a burst of deliveries (None: never failed)."""
        row = await self._records.get(host, RECORD_TTL, lambda: RemoteHost.get_or_none(host=host))
        if row is not None and row.unavailable_since is not None:
            self._records.forget(host)  # an unavailable host's daily try is decided on a fresh read
        return row  # type: ignore[no-any-return]

    async def succeeded(self, host: str) -> None:
        """The host answered 2xx: its failure record is cleared (once per HEALTHY_SECONDS)."""
        if not self.healthy(host):
            await RemoteHost.filter(host=host).exclude(failures=0, unavailable_since=None).update(
                failures=0, unavailable_since=None, last_failure_at=None, last_error=None)
        self._healthy[host] = time.monotonic()

    async def failed(self, host: str, error: str) -> None:
        """Count a failure day for the host; past the limit it becomes unavailable."""
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
