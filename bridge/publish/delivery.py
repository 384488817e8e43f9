"""Delivery: one `deliver` job sends one activity to one inbox, signed as one of our actors
at the moment it leaves (a fresh `Date` however long the job waited).

The answer is classified by a pure function (`classify`), the retry policy
(bridge/jobs/retry.py) does the rest:
- 2xx: done;
- 404/410: permanent (PermanentError); a 410 from the personal inbox of a follower also
  removes the follower (its account is gone);
- 429/503: RetryLater, honouring `Retry-After` (seconds or an HTTP date);
- anything else, timeouts and resets: back off (exponential, jitter, ~2 days in all).
Hosts: at most `delivery.per_host_concurrency` requests to one host and
`delivery.concurrency` in all per process; a job whose host has no free slot is deferred
without counting an attempt, so a hanging host never holds the slots of the others.
A host that failed on `unavailable_after_days` separate days without one success is
marked unavailable (RemoteHost.unavailable_since): its deliveries are dropped, except one
try a day, until it answers or sends us a signed request (bridge/inbox/routes.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from bridge.config import DeliveryConfig
from bridge.core import metrics
from bridge.core.clock import utcnow
from bridge.core.links import host_of
from bridge.jobs.retry import Deferred, PermanentError, RetryLater
from bridge.jobs.store import JobContext, forget, memoized
from bridge.keys import signing_key
from bridge.models import Job, OutboundActivity, RemoteHost
from bridge.net.fetch import AddressRefused, FetchError
from bridge.net.remote import forget_actor
from bridge.net.signed import PostResult, remember_scheme, remembered_scheme, signed_post
from bridge.signatures import SigningKey

log = logging.getLogger("bridge.delivery")

DELIVER_JOB = "deliver"
PROBE_EVERY = timedelta(days=1)  # an unavailable host is still tried this often
_BUSY_RETRY_SECONDS = 1.0  # a job whose host has no free slot comes back after this
KEY_TTL = 30.0  # seconds a process signs with the key it read (keys rotate rarely)
ACTIVITY_TTL = 600.0  # an activity does not change once stored
SCHEME_TTL = 300.0  # seconds a host's remembered signature scheme is trusted without a query
HOST_RECORD_TTL = 1.0  # seconds a host's failure record, read for a delivery, serves the next ones



# -- the pure part ---------------------------------------------------------------------


class Verdict(StrEnum):
    DONE = "done"
    GONE = "gone"  # 410: the inbox (and with it the account) is gone
    PERMANENT = "permanent"
    RETRY_AFTER = "retry_after"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Classified:
    verdict: Verdict
    after: float = 0.0  # seconds, for RETRY_AFTER


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header (RFC 9110 §10.2.3: seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def classify(status: int, retry_after: str | None, now: datetime) -> Classified:
    """What an inbox's answer means for the delivery."""
    if 200 <= status < 300:
        return Classified(Verdict.DONE)
    if status == 410:
        return Classified(Verdict.GONE)
    if status == 404:
        return Classified(Verdict.PERMANENT)
    if status in (429, 503):
        after = retry_after_seconds(retry_after, now)
        if after is not None:
            return Classified(Verdict.RETRY_AFTER, after)
    return Classified(Verdict.RETRY)


def failure_days(failures: int, last_failure_at: datetime | None, now: datetime) -> int:
    """Separate days with a failure: a failure on a new UTC day counts one more."""
    if last_failure_at is None or last_failure_at.astimezone(UTC).date() != now.astimezone(UTC).date():
        return failures + 1
    return failures


# -- per-process limits -----------------------------------------------------------------


class Limits:
    """Per-host and global slots of one process. `try_acquire` never waits: a job whose host
    is busy is deferred, so it does not sit in a worker slot."""

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


# Hosts that answered 2xx lately (process-local): no need to read or reset their failure record.
HEALTHY_SECONDS = 30.0
_healthy: dict[str, float] = {}
_answered: dict[str, float] = {}  # hosts whose signed request reset their record lately


_limits: dict[DeliveryConfig, Limits] = {}


def limits_for(settings: DeliveryConfig) -> Limits:
    """One Limits per process and settings (the worker's jobs share it)."""
    if settings not in _limits:
        _limits[settings] = Limits(settings)
    return _limits[settings]


# -- the job ---------------------------------------------------------------------------


async def _signing_key(ctx: JobContext, actor: str) -> SigningKey:
    assert ctx.config is not None
    base_url = ctx.config.server.base_url

    async def load() -> SigningKey:
        key = await signing_key(base_url, actor)
        await asyncio.to_thread(lambda: key.private_key)  # parsed and checked off the loop, once
        return key

    return await memoized(ctx, ("signing-key", actor), KEY_TTL, load)  # type: ignore[no-any-return]


async def warm_signing_keys(ctx: JobContext) -> None:
    """Read and check each blog's signing key before the first delivery needs it (a fan-out's
    first deliveries would otherwise wait for it)."""
    assert ctx.config is not None
    for blog in ctx.config.blogs:
        try:
            await _signing_key(ctx, blog.name)
        except Exception as exc:  # no key yet (made on first use), or a broken one: its delivery says so
            log.info("keys.not_loaded actor=%s error=%s", blog.name, type(exc).__name__)


def forget_signing_key(ctx: JobContext, actor: str) -> None:
    """Drop the remembered signing key of `actor` (after a key rotation)."""
    forget(ctx, ("signing-key", actor))


def deliver_payload(
    actor: str, inbox: str, activity: Mapping[str, Any] | int, *, follower: str | None = None
) -> dict[str, Any]:
    """A `deliver` job's payload: `actor` (a blog name) signs `activity` to `inbox`.

    `activity`: the activity itself (a one-off, such as an Accept), or the row id of an
    OutboundActivity (a fan-out: stored once for all its deliveries).
    `follower`: the follower whose personal inbox this is (a 410 removes it)."""
    payload: dict[str, Any] = {"actor": actor, "inbox": inbox}
    if isinstance(activity, int):
        payload["activity_ref"] = activity
    else:
        payload["activity"] = dict(activity)
    if follower:
        payload["follower"] = follower
    return payload


def activity_body(activity: Mapping[str, Any]) -> bytes:
    """The JSON sent: `@context` first (PostgreSQL's jsonb does not keep key order)."""
    ordered = {"@context": activity["@context"]} if "@context" in activity else {}
    ordered.update((k, v) for k, v in activity.items() if k != "@context")
    return json.dumps(ordered, ensure_ascii=False).encode()


class DeliveryFailed(Exception):
    """The inbox answered with a failure status (the message carries a truncated body)."""

    def __init__(self, inbox: str, status: int, body: bytes) -> None:
        super().__init__(f"{inbox} answered {status}: {body[:200].decode('utf-8', 'replace')}")
        self.inbox = inbox
        self.status = status


async def deliver_job(job: Job, ctx: JobContext) -> None:
    """Send one activity to one inbox."""
    assert ctx.config is not None
    config = ctx.config
    payload = job.payload
    inbox: str = payload["inbox"]
    host = host_of(inbox)
    now = utcnow()
    healthy = time.monotonic() - _healthy.get(host, float("-inf")) < HEALTHY_SECONDS
    # Read once for a burst (a fan-out starts dozens of deliveries to a new host at once).
    known = None if healthy else await memoized(ctx, ("host-record", host), HOST_RECORD_TTL,
                                                lambda: RemoteHost.get_or_none(host=host))
    if known is not None and known.unavailable_since is not None:
        forget(ctx, ("host-record", host))  # its daily try is decided on a fresh read
    if known is not None and known.unavailable_since is not None and known.last_failure_at is not None \
            and now - known.last_failure_at < PROBE_EVERY:
        log.info("deliver.skipped inbox=%s reason=host unavailable since %s", inbox, known.unavailable_since)
        return
    limits = limits_for(config.delivery)
    if not limits.try_acquire(host):
        raise Deferred(f"{host} has no free delivery slot", after=_BUSY_RETRY_SECONDS)
    try:
        actor = payload["actor"]
        # Read once a while, not per delivery: a rotated key is picked up within KEY_TTL.
        key = await _signing_key(ctx, actor)
        known_scheme = await memoized(ctx, ("scheme", host), SCHEME_TTL, lambda: remembered_scheme(host))
        activity, body = await _activity(ctx, payload)
        started = time.monotonic()
        try:
            result = await signed_post(ctx.http, inbox, body, key, timeout=config.delivery.timeout_seconds,
                                       scheme=known_scheme, remember=False)
            current = ctx.memo.get(("scheme", host), (0.0, known_scheme))[1]
            if isinstance(current, asyncio.Future):  # being read again right now
                current = known_scheme
            if result.ok and result.scheme is not current:  # the first of a burst records it, not all
                ctx.memo[("scheme", host)] = (time.monotonic(), result.scheme)
                await remember_scheme(host, result.scheme)
            metrics.DELIVERY_SECONDS.observe(time.monotonic() - started)
        except AddressRefused as exc:
            metrics.DELIVERIES.inc(outcome="permanent")
            raise PermanentError(str(exc)) from exc
        except FetchError as exc:  # no answer: timeout, reset, refused connection
            metrics.DELIVERIES.inc(outcome="unreachable")
            await _host_failed(ctx, host, str(exc), config.delivery)
            raise
    finally:
        limits.release(host)
    await _settle(ctx, job, result, host, config.delivery, activity.get("type"))


async def _activity(ctx: JobContext, payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], bytes]:
    """The activity a delivery sends and its JSON body: inline, or its stored row (read and
    encoded once per process for all the deliveries of a fan-out)."""
    if "activity" in payload:
        return payload["activity"], activity_body(payload["activity"])
    ref = payload["activity_ref"]

    async def load() -> tuple[Mapping[str, Any], bytes]:
        row = await OutboundActivity.get_or_none(id=ref)
        if row is None:
            raise PermanentError(f"outbound activity {ref} no longer exists")
        return row.body, activity_body(row.body)

    return await memoized(ctx, ("activity", ref), ACTIVITY_TTL, load)  # type: ignore[no-any-return]


async def _settle(ctx: JobContext, job: Job, result: PostResult, host: str, settings: DeliveryConfig,
                  kind: str | None) -> None:
    now = utcnow()
    outcome = classify(result.status, result.headers.get("Retry-After"), now)
    inbox = result.url
    metrics.DELIVERIES.inc(outcome=outcome.verdict.value)
    if outcome.verdict is Verdict.DONE:
        if time.monotonic() - _healthy.get(host, float("-inf")) >= HEALTHY_SECONDS:
            await RemoteHost.filter(host=host).exclude(failures=0, unavailable_since=None).update(
                failures=0, unavailable_since=None, last_failure_at=None, last_error=None)
        _healthy[host] = time.monotonic()
        log.info("deliver.done inbox=%s status=%d type=%s", inbox, result.status, kind)
        return
    error = DeliveryFailed(inbox, result.status, result.body)
    if outcome.verdict is Verdict.GONE:
        follower = job.payload.get("follower")
        if follower:
            # Its account is gone: it follows no blog any more (as for a 410 on its document).
            await forget_actor(follower, f"its inbox {inbox} answered 410")
        raise PermanentError(str(error))
    if outcome.verdict is Verdict.PERMANENT:
        raise PermanentError(str(error))
    await _host_failed(ctx, host, str(error), settings)
    if outcome.verdict is Verdict.RETRY_AFTER:
        raise RetryLater(str(error), after=outcome.after)
    raise error


async def _host_failed(ctx: JobContext, host: str, error: str, settings: DeliveryConfig) -> None:
    """Count a failure day for the host; past the limit it becomes unavailable."""
    _healthy.pop(host, None)
    forget(ctx, ("host-record", host))  # the next delivery reads what is written here
    _answered.pop(host, None)
    now = utcnow()
    row, _ = await RemoteHost.get_or_create(host=host)
    days = failure_days(row.failures, row.last_failure_at, now)
    values: dict[str, Any] = {"failures": days, "last_failure_at": now, "last_error": error[:2000]}
    if days >= settings.unavailable_after_days and row.unavailable_since is None:
        values["unavailable_since"] = now
        log.warning("host.unavailable host=%s failure_days=%d error=%s", host, days, error)
    await RemoteHost.filter(host=host).update(**values)


async def host_answered(host: str) -> None:
    """The host sent us a signed request: it is up again (one write per host and
    HEALTHY_SECONDS at most: a busy sender's every request does not reach the database)."""
    now = time.monotonic()
    if now - _answered.get(host, float("-inf")) < HEALTHY_SECONDS:
        return
    _answered[host] = now  # before the write: the requests arriving meanwhile need not write too
    try:
        await RemoteHost.filter(host=host).exclude(failures=0, unavailable_since=None).update(
            failures=0, unavailable_since=None, last_failure_at=None)
    except BaseException:
        _answered.pop(host, None)
        raise

