"""The one notion of "now": timezone-aware UTC, injectable as a `Clock` so tests
can move time (signature windows, leases, retries) without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
