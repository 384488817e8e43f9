"""Delivery: one `deliver` job sends one activity to one inbox, signed as one of our actors
at the moment it leaves (a fresh `Date` however long the job waited).

The answer is classified by a pure function (`classify`), the retry policy
(bridge/jobs/retry.py) does the rest:
- 2xx: done;
- 404/410: permanent (PermanentError); a 410 from the personal inbox of a follower also
  removes the follower (its account is gone);
- 429/503: RetryLater, after the `Retry-After` as given (seconds or an HTTP date);
- anything else, timeouts and resets: again after ~5 s, then backing off (doubling, jitter,
  ~2 days in all: bridge/jobs/retry.py).
The POST connects within `delivery.connect_timeout_seconds` and is answered within
`delivery.timeout_seconds`. Hosts (bridge/net/hosts.py, one `HostHealth` per app): at most
`delivery.concurrency` requests in all and `delivery.per_host_concurrency` to a host that
answers; one at a time to a host not heard from yet or whose last attempt failed (no
answer, 5xx), fewer for a while after a 429. A job whose host has no free slot is deferred
without counting an attempt, so a hanging host never holds the slots of the others. A host
that did not answer (or answered 5xx three times in a row) cools down: while it does, its
deliveries are not sent; each counts an attempt and comes back when it has cooled (a
circuit breaker, as Mastodon's). A host that failed on `unavailable_after_days` separate days without one success is
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

from bridge.core import metrics
from bridge.core.clock import utcnow
from bridge.core.links import host_of
from bridge.core.textguard import ascii_digits
from bridge.jobs.kinds import Deliver
from bridge.jobs.retry import Deferred, PermanentError, RetryLater, Weather
from bridge.jobs.store import JobContext
from bridge.keys import signing_key
from bridge.models import Job, OutboundActivity, RemoteHost
from bridge.net.fetch import AddressRefused, FetchError
from bridge.net.hosts import UNREAD, HostHealth, Unread
from bridge.net.remote import forget_actor
from bridge.publish.proofs import PROOF_KEY_TTL, proof_key, prove
from bridge.net.signed import (
    DEFAULT_SCHEME,
    PostResult,
    remember_scheme,
    remembered_scheme,
    signed_post,
)
from bridge.signatures import Scheme, SigningKey

log = logging.getLogger("bridge.delivery")

PROBE_EVERY = timedelta(days=1)  # an unavailable host is still tried this often
KEY_TTL = 30.0  # seconds an app signs with the key it read (keys rotate rarely)
ACTIVITY_TTL = 600.0  # an activity does not change once stored
SCHEME_TTL = 300.0  # seconds a host's remembered signature scheme is trusted without a query


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
    if ascii_digits(value):
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


# -- the job ---------------------------------------------------------------------------


async def _signing_key(ctx: JobContext, actor: str) -> SigningKey:
    base_url = ctx.config.server.base_url

    async def load() -> SigningKey:
        key = await signing_key(base_url, actor)
        await asyncio.to_thread(lambda: key.private_key)  # parsed and checked off the loop, once
        return key

    return await ctx.memo.get(("signing-key", actor), KEY_TTL, load)  # type: ignore[no-any-return]


async def warm_signing_keys(ctx: JobContext) -> None:
    """Read and check each blog's signing key before the first delivery needs it (a fan-out's
    first deliveries would otherwise wait for it)."""
    for blog in ctx.config.blogs:
        try:
            await _signing_key(ctx, blog.name)
        except Exception as exc:  # no key yet (made on first use), or a broken one: its delivery says so
            log.info("keys.not_loaded actor=%s error=%s", blog.name, type(exc).__name__)


def forget_signing_key(ctx: JobContext, actor: str) -> None:
    """Drop the remembered signing keys of `actor` (after a key rotation)."""
    ctx.memo.forget(("signing-key", actor))
    ctx.memo.forget(("proof-key", actor))


async def _proven(ctx: JobContext, actor: str, activity: Mapping[str, Any]) -> Mapping[str, Any]:
    """The activity with the actor's integrity proof, or as it is when the actor has no Ed25519 key."""
    base_url = ctx.config.server.base_url
    key = await ctx.memo.get(("proof-key", actor), PROOF_KEY_TTL, lambda: proof_key(base_url, actor))
    return prove(activity, key, utcnow()) if key is not None else activity


def activity_body(activity: Mapping[str, Any]) -> bytes:
    """The JSON sent: `@context` first (PostgreSQL's jsonb does not keep key order)."""
    ordered = {"@context": activity["@context"]} if "@context" in activity else {}
    ordered.update((k, v) for k, v in activity.items() if k != "@context")
    return json.dumps(ordered, ensure_ascii=False).encode()


class DeliveryFailed(Weather):
    """The inbox answered with a failure status (the message carries a truncated body)."""

    def __init__(self, inbox: str, status: int, body: bytes) -> None:
        super().__init__(f"{inbox} answered {status}: {body[:200].decode('utf-8', 'replace')}")
        self.inbox = inbox
        self.status = status


async def deliver_job(spec: Deliver, job: Job, ctx: JobContext) -> None:
    """Send one activity to one inbox."""
    config = ctx.config
    inbox = spec.inbox
    host = host_of(inbox)
    hosts = ctx.state(HostHealth)
    # Read once for a burst (a fan-out starts dozens of deliveries to a new host at once).
    known: RemoteHost | None | Unread = UNREAD
    if not hosts.healthy(host):
        known = await hosts.record(host)
        ctx.memo.setdefault(("scheme", host), _scheme_of(known))  # the row tells the scheme too: no second read
    if isinstance(known, RemoteHost) and known.unavailable_since is not None and known.last_failure_at is not None \
            and utcnow() - known.last_failure_at < PROBE_EVERY:
        log.info("deliver.skipped inbox=%s reason=host unavailable since %s", inbox, known.unavailable_since)
        return
    cooling = hosts.limits.cooling(host)
    if cooling and hosts.limits.failing(host):  # it failed just now: not tried, back when it has cooled
        raise RetryLater(f"{host} failed moments ago; not tried (a new request in {cooling:.0f} s)", after=cooling)
    if not await hosts.limits.acquire(host):
        raise Deferred(f"{host} has no free delivery slot", after=hosts.limits.defer_seconds(host))
    try:
        # Read once a while, not per delivery: a rotated key is picked up within KEY_TTL.
        key = await _signing_key(ctx, spec.actor)
        known_scheme = await ctx.memo.get(("scheme", host), SCHEME_TTL, lambda: remembered_scheme(host))
        activity, body = await _activity(ctx, spec)
        started = time.monotonic()
        try:
            result = await signed_post(ctx.http, inbox, body, key, timeout=config.delivery.timeout_seconds,
                                       connect_timeout=config.delivery.connect_timeout_seconds,
                                       scheme=known_scheme, remember=False)
        except AddressRefused as exc:
            metrics.DELIVERIES.inc(outcome="permanent")
            raise PermanentError(str(exc)) from exc
        except FetchError as exc:  # no answer: timeout, reset, refused connection
            hosts.limits.answered(host, None)  # before its slot is free: one at a time from now on
            metrics.DELIVERIES.inc(outcome="unreachable")
            await hosts.failed(host, str(exc))
            raise
        outcome = classify(result.status, result.headers.get("Retry-After"), utcnow())
        hosts.limits.answered(host, result.status, outcome.after if outcome.verdict is Verdict.RETRY_AFTER else None)
        if result.ok and result.scheme is not (ctx.memo.peek(("scheme", host), known_scheme) or DEFAULT_SCHEME):
            # Learned something (not the scheme tried first anyway): the first of a burst records it.
            ctx.memo.put(("scheme", host), result.scheme)
            await remember_scheme(host, result.scheme)
        metrics.DELIVERY_SECONDS.observe(time.monotonic() - started)
    finally:
        hosts.limits.release(host)
    await _settle(spec, result, outcome, hosts, activity.get("type"), known)


def _scheme_of(row: RemoteHost | None) -> Scheme | None:
    value = row.signature_scheme if row is not None else None
    return Scheme(value) if value in (Scheme.CAVAGE.value, Scheme.RFC9421.value) else None


async def _activity(ctx: JobContext, spec: Deliver) -> tuple[Mapping[str, Any], bytes]:
    """The activity a delivery sends, with its proof (bridge/publish/proofs.py), and its JSON
    body: inline, or its stored row (read, signed and encoded once per app for all the
    deliveries of a fan-out)."""
    if spec.activity is not None:
        activity = await _proven(ctx, spec.actor, spec.activity)
        return activity, activity_body(activity)
    ref = spec.activity_ref

    async def load() -> tuple[Mapping[str, Any], bytes]:
        row = await OutboundActivity.get_or_none(id=ref)
        if row is None:
            raise PermanentError(f"outbound activity {ref} no longer exists")
        activity = await _proven(ctx, spec.actor, row.body)
        return activity, activity_body(activity)

    return await ctx.memo.get(("activity", ref), ACTIVITY_TTL, load)  # type: ignore[no-any-return]


async def _settle(spec: Deliver, result: PostResult, outcome: Classified, hosts: HostHealth, kind: str | None,
                  known: RemoteHost | None | Unread) -> None:
    inbox = result.url
    host = host_of(inbox)
    metrics.DELIVERIES.inc(outcome=outcome.verdict.value)
    if outcome.verdict is Verdict.DONE:
        await hosts.succeeded(host, known)
        log.info("deliver.done inbox=%s status=%d type=%s", inbox, result.status, kind)
        return
    error = DeliveryFailed(inbox, result.status, result.body)
    if outcome.verdict is Verdict.GONE:
        if spec.follower:
            # Its account is gone: it follows no blog any more (as for a 410 on its document).
            await forget_actor(spec.follower, f"its inbox {inbox} answered 410")
        raise PermanentError(str(error))
    if outcome.verdict is Verdict.PERMANENT:
        raise PermanentError(str(error))
    await hosts.failed(host, str(error))
    if outcome.verdict is Verdict.RETRY_AFTER:
        raise RetryLater(str(error), after=outcome.after)
    raise error
