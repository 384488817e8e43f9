"""The durable job queue, stored in the same database as everything else: adding
jobs, the handlers that run them, and what a handler is given.

A job is a row (see `models.Job`). Workers (bridge/jobs/worker.py) claim ready jobs
with a lease; a job whose worker died is claimed again once its lease expires,
so every job runs at least once and, while its worker lives, by one worker only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, TypeVar

from tortoise import connections
from tortoise.functions import Count

from bridge.config import Config
from bridge.core.clock import utcnow
from bridge.core.singleflight import Memo
from bridge.jobs.kinds import Handler, JobSpec
from bridge.models import Job, JobState

ENTRY_POINT_GROUP = "bridge.jobs"  # installed packages may add job kinds here


T = TypeVar("T")


@dataclass(slots=True)
class JobContext:
    """What a handler may use: the configuration, the app's one HTTP client, and the app's
    state. One per app (bridge/app.py), shared by its workers and its inbox: caches and
    host health live here, never in module globals, so two apps in one process share nothing."""

    config: Config
    http: Any = None  # aiohttp.ClientSession; Any keeps this module free of aiohttp
    memo: Memo = field(default_factory=Memo)  # values kept a while, each read once (core/singleflight.py)
    _state: dict[Callable[[Config], Any], Any] = field(default_factory=dict)

    def state(self, kind: Callable[[Config], T]) -> T:
        """This app's one `kind` (made from the config on first use), e.g. its host health
        (bridge/net/hosts.py) or its block list (bridge/inbox/moderation.py)."""
        found = self._state.get(kind)
        if found is None:
            found = self._state[kind] = kind(self.config)
        return found  # type: ignore[no-any-return]


def load_handlers(builtin: Mapping[str, Handler] | None = None) -> dict[str, Handler]:
    """Our own handlers, plus those of installed packages (entry-point group `bridge.jobs`)."""
    handlers: dict[str, Handler] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        handlers[ep.name] = ep.load()
    handlers.update(builtin or {})  # ours win over a plugin's kind of the same name
    return handlers


async def enqueue(
    spec: JobSpec,
    *,
    run_after: datetime | None = None,
    dedupe_key: str | None = None,
    using_db: Any = None,
) -> Job:
    """Add a job. Pass `using_db` (a transaction) to commit it with the change that causes it.

    With `dedupe_key`, enqueueing again is a no-op and returns the job already there.
    """
    values = {
        "kind": spec.kind,
        "payload": spec.payload(),
        "run_after": run_after or utcnow(),
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        job = await Job.create(using_db=using_db, **values)
    else:
        # INSERT … ON CONFLICT DO NOTHING: no exception, so an open PostgreSQL transaction survives.
        await Job.bulk_create([Job(**values)], ignore_conflicts=True, using_db=using_db)
        job = await Job.filter(dedupe_key=dedupe_key).using_db(using_db).get()
    wake_local_workers()
    return job


async def enqueue_many(jobs: Iterable[tuple[JobSpec, str | None]], *, using_db: Any = None) -> None:
    """Add many (spec, dedupe_key) jobs in one INSERT; keys already there are skipped,
    so a fan-out that is run again adds nothing twice."""
    jobs = list(jobs)
    if not jobs:
        return
    # Plain INSERTs: building a model instance per row costs more than the insert itself,
    # and a fan-out writes one row per inbox.
    conn = using_db or connections.get("default")
    now = utcnow()
    columns = "kind, payload, state, attempts, run_after, dedupe_key, created_at, updated_at"
    kinds = [spec.kind for spec, _key in jobs]
    keys = [key for _spec, key in jobs]
    encoded = [json.dumps(spec.payload(), separators=(",", ":"), ensure_ascii=False) for spec, _key in jobs]
    if conn.capabilities.dialect == "postgres":
        # One statement for the whole batch (arrays unnested): executemany costs a round of
        # the protocol per row, and a fan-out's rows are most of its database work.
        await conn.execute_query(
            f"INSERT INTO jobs ({columns}) SELECT kind, payload::jsonb, $4, 0, $5, dedupe_key, $5, $5 "
            "FROM unnest($1::text[], $2::text[], $3::text[]) AS batch(kind, payload, dedupe_key) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            [kinds, encoded, keys, JobState.QUEUED.value, now])
    else:
        sql = f"INSERT OR IGNORE INTO jobs ({columns}) VALUES (?, ?, ?, 0, ?, ?, ?, ?)"
        await conn.execute_many(sql, [[kind, payload, JobState.QUEUED.value, now, key, now, now]
                                      for kind, payload, key in zip(kinds, encoded, keys, strict=True)])
    wake_local_workers()


async def retry_dead(job_ids: list[int] | None = None) -> int:
    """Put dead jobs (all, or these) back in the queue with fresh attempts."""
    query = Job.filter(state=JobState.DEAD)
    if job_ids is not None:
        query = query.filter(id__in=job_ids)
    count = await query.update(state=JobState.QUEUED, attempts=0, run_after=utcnow(), finished_at=None)
    if count:
        wake_local_workers()
    return count


async def queue_depth() -> dict[str, int]:
    """Number of jobs by state (for health and the dashboard)."""
    rows = await Job.annotate(n=Count("id")).group_by("state").values_list("state", "n")
    depth = {state.value: 0 for state in JobState}
    for state, n in rows:
        depth[str(state)] = n
    return depth


_local_wakeups: set[asyncio.Event] = set()


def wake_local_workers() -> None:
    """Tell this process's workers that jobs were just added (they need not wait for a poll)."""
    for event in _local_wakeups:
        event.set()


def listen_for_work(event: asyncio.Event, listening: bool = True) -> None:
    """Have `wake_local_workers` set `event` (a running worker's), or stop."""
    if listening:
        _local_wakeups.add(event)
    else:
        _local_wakeups.discard(event)
