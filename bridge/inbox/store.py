"""Storing what the inboxes accept: many requests' rows in one transaction (group commit),
each request answered only once its rows are committed.

One commit per request costs a disk flush each (SQLite with synchronous=FULL); a burst
of deliveries (a reply storm, a wave of boosts) then queues on the flushes. The writer
collects the activities accepted while the previous batch was being committed and
stores them together: one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` of
the activities, one INSERT of their `inbox.process` jobs, one commit. A request waits
for the commit of its batch before its 202, so an answered activity is durable; a
failed batch is stored again one activity at a time, so only the activity the database
refuses fails (its sender gets a 5xx and retries). An activity id already
stored, or twice in one batch, is stored once and answered 202 as a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from bridge.core.clock import utcnow
from bridge.jobs.kinds import ProcessInbox
from bridge.jobs.store import enqueue_many, wake_local_workers
from bridge.models import JobState

MAX_BATCH = 200  # activities per transaction (8 parameters each: well under SQLite's limit)


@dataclass(frozen=True, slots=True)
class Accepted:
    """One verified activity to store."""

    activity: dict[str, Any]
    actor: str
    key_id: str
    scheme: str
    recipient: str | None


def job_of(row_id: int, item: Accepted) -> ProcessInbox:
    """The `inbox.process` job of a stored activity."""
    return ProcessInbox(row_id, item.activity["id"], item.activity["type"], item.recipient)


_INSERT = ("INSERT INTO inbox_activities (activity_id, actor, type, recipient, key_id, signature_scheme, body, "
           "received_at) VALUES {values} ON CONFLICT (activity_id) DO NOTHING RETURNING id, activity_id")


def _insert(items: Sequence[Accepted], now: datetime) -> tuple[str, list[Any]]:
    """SQLite: one multi-row INSERT."""
    values, params = [], []
    for item in items:
        values.append("(?, ?, ?, ?, ?, ?, ?, ?)")
        params += [item.activity["id"], item.actor, item.activity["type"], item.recipient, item.key_id,
                   item.scheme, json.dumps(item.activity, ensure_ascii=False), now]
    return _INSERT.format(values=", ".join(values)), params


async def store_batch(items: Sequence[Accepted]) -> list[bool]:
    """Store the items and their jobs in one transaction; per item, whether it was new."""
    now = utcnow()
    if connections.get("default").capabilities.dialect == "postgres":
        return await _store_batch_postgres(items, now)
    async with in_transaction() as conn:
        sql, params = _insert(items, now)
        rows = await conn.execute_query_dict(sql, params)
        new = {row["activity_id"]: row["id"] for row in rows}
        fresh: list[bool] = []
        jobs: list[tuple[ProcessInbox, str | None]] = []
        for item in items:
            row_id = new.pop(item.activity["id"], None)  # popped: a twin later in the batch is a duplicate
            fresh.append(row_id is not None)
            if row_id is not None:
                jobs.append((job_of(row_id, item), None))
        await enqueue_many(jobs, using_db=conn)
    return fresh


async def _store_batch_postgres(items: Sequence[Accepted], now: datetime) -> list[bool]:
    """PostgreSQL: the activities and their jobs in one statement (its own transaction, one
    round trip, committed as durably as any other). The rows come as arrays, so the text
    is the same for every batch size (one prepared statement per connection, not one per
    size); the jobs' payloads are built from the rows the INSERT returns, by the SQL that
    `ProcessInbox.sql_payload` derives from the job kind's fields."""
    columns: list[list[str | None]] = [[], [], [], [], [], [], []]
    for item in items:
        row = (item.activity["id"], item.actor, item.activity["type"], item.recipient, item.key_id, item.scheme,
               json.dumps(item.activity, ensure_ascii=False))
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    rows = await connections.get("default").execute_query_dict(_POSTGRES_BATCH, [*columns, now, ProcessInbox.KIND,
                                                                                 JobState.QUEUED.value])
    new = {row["activity_id"]: row["id"] for row in rows}
    fresh = [new.pop(item.activity["id"], None) is not None for item in items]  # a twin later: a duplicate
    if any(fresh):
        wake_local_workers()
    return fresh


_POSTGRES_BATCH = (
    "WITH stored AS (INSERT INTO inbox_activities (activity_id, actor, type, recipient, key_id, signature_scheme, "
    "body, received_at) SELECT a, b, c, d, e, f, g::jsonb, $8 FROM unnest($1::text[], $2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::text[]) AS batch(a, b, c, d, e, f, g) "
    "ON CONFLICT (activity_id) DO NOTHING RETURNING id, activity_id, type, recipient), "
    "queued AS (INSERT INTO jobs (kind, payload, state, attempts, run_after, created_at, updated_at) "
    f"SELECT $9, {ProcessInbox.sql_payload()}, $10, 0, $8, $8, $8 FROM stored) "
    "SELECT id, activity_id FROM stored")


def raise_in(waiter: asyncio.Future[bool]) -> None:
    """Pass the exception being handled to the request waiting on `waiter`."""
    exc = sys.exc_info()[1]
    if not waiter.done() and exc is not None:
        waiter.set_exception(exc)


@dataclass
class InboxWriter:
    """Group commit of accepted activities (one per app)."""

    max_batch: int = MAX_BATCH
    _pending: list[tuple[Accepted, asyncio.Future[bool]]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def store(self, item: Accepted) -> bool:
        """Store one activity with its job; returns once committed (False: already stored)."""
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((item, waiter))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="inbox-writer")
        return await waiter

    async def _write(self) -> None:
        # Whatever arrives while a batch commits is the next batch.
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
            try:
                results = await store_batch([item for item, _ in batch])
            except Exception:
                if len(batch) == 1:
                    raise_in(batch[0][1])
                    continue
                # One bad row (say a body the database refuses) must not fail the others: each alone.
                for item, waiter in batch:
                    try:
                        (fresh,) = await store_batch([item])
                    except Exception:
                        raise_in(waiter)
                    else:
                        if not waiter.done():
                            waiter.set_result(fresh)
                continue
            for (_item, waiter), fresh in zip(batch, results, strict=True):
                if not waiter.done():
                    waiter.set_result(fresh)
