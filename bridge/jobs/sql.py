"""The queue's hot statements in plain SQL: claiming a batch of jobs and recording a batch done.

A fan-out runs thousands of jobs a second; through the ORM, building the queries and
parsing every timestamp of every claimed row cost more than the statements themselves
(bench/fanout.py, the profile in docs/performance.md). Each is one statement:
- claim, PostgreSQL: ``WITH … (SELECT … FOR UPDATE SKIP LOCKED) UPDATE … RETURNING``:
  rows another transaction holds are skipped, and the claimable condition is checked
  again on the locked row version, so no job is leased to two workers at once;
- claim, SQLite: one UPDATE … RETURNING, atomic under SQLite's single writer;
- both read expired leases and due jobs in two index scans (the (state, run_after)
  index gives due jobs in order): no sort of every claimable row per claim;
- done: one UPDATE for the batch, guarded by owner and state (a job whose lease another
  worker took is left to it);
- `settle_and_claim`, what a running worker does: the jobs finished since its last call
  recorded done and the next jobs claimed in one transaction, one trip to the database
  (a fan-out's claims otherwise queue behind its done records on the one connection).
  Their commit does not wait for the disk (PostgreSQL: synchronous_commit off for that
  transaction; SQLite: synchronous NORMAL while it runs): a claim or a done mark lost with
  a database crash only makes its job run again, which a queue that runs every job at
  least once allows. Everything else the bridge stores keeps waiting for the disk.
Datetimes go through the drivers' adapters (tortoise's sqlite adapter writes
isoformat(" "), the format the ORM stores, so text comparisons order like the instants).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from datetime import datetime
from typing import Any

from tortoise import connections

from bridge.models import Job, JobState

# What handlers read of a claimed job.
CLAIMED_COLUMNS = "id, kind, payload, attempts, lease_owner, created_at"


def _postgres(conn: Any) -> bool:
    return bool(conn.capabilities.dialect == "postgres")


async def claim_jobs(owner: str, now: datetime, lease_expires: datetime, limit: int) -> list[Job]:
    """Lease up to `limit` ready jobs (queued and due, or running with an expired lease) to `owner`."""
    conn = connections.get("default")
    sql, params = _claim_sql(_postgres(conn), owner, now, lease_expires, limit)
    rows = await conn.execute_query_dict(sql, params)  # execute_query drops RETURNING rows on asyncpg
    return _jobs(rows)


def _jobs(rows: list[dict[str, Any]]) -> list[Job]:
    jobs = [_job(row) for row in rows]
    jobs.sort(key=lambda job: job.id)  # RETURNING promises no order
    return jobs


def _claim_sql(postgres: bool, owner: str, now: datetime, lease_expires: datetime, limit: int) -> tuple[str, list[Any]]:
    running, queued = JobState.RUNNING.value, JobState.QUEUED.value
    # Two index scans, expired leases then due jobs, never one scan with an OR: with an OR
    # both databases sort every claimable row on each claim (10,000 rows during a fan-out).
    if postgres:
        # CTEs, not `id IN (SELECT … LIMIT)`: PostgreSQL may run such a subquery more than
        # once and lease more than `limit` rows; a CTE that locks is run once. Due jobs by
        # run_after alone: the index's order, no sort (ties come in insertion order).
        claimable = "((j.state = $4 AND j.run_after <= $5) OR (j.state = $1 AND j.lease_expires < $5))"
        returned = ", ".join(f"j.{c.strip()}" for c in CLAIMED_COLUMNS.split(","))
        sql = ("WITH expired AS (SELECT id FROM jobs WHERE state = $1 AND lease_expires < $5 ORDER BY id "
               "LIMIT $6 FOR UPDATE SKIP LOCKED), "
               "due AS (SELECT id FROM jobs WHERE state = $4 AND run_after <= $5 ORDER BY run_after "
               "LIMIT $6 FOR UPDATE SKIP LOCKED), "
               "picked AS (SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT $6) "
               f"UPDATE jobs j SET state = $1, lease_owner = $2, lease_expires = $3, attempts = j.attempts + 1, "
               f"updated_at = $5 FROM picked WHERE j.id = picked.id AND {claimable} RETURNING {returned}")
        params: list[Any] = [running, owner, lease_expires, queued, now, limit]
    else:
        sql = ("UPDATE jobs SET state = ?, lease_owner = ?, lease_expires = ?, attempts = attempts + 1, "
               "updated_at = ? WHERE id IN ("
               "SELECT id FROM (SELECT id FROM jobs WHERE state = ? AND lease_expires < ? ORDER BY id LIMIT ?) "
               "UNION ALL "
               "SELECT id FROM (SELECT id FROM jobs WHERE state = ? AND run_after <= ? ORDER BY run_after, id LIMIT ?) "
               f"LIMIT ?) RETURNING {CLAIMED_COLUMNS}")
        params = [running, owner, lease_expires, now, running, now, limit, queued, now, limit, limit]
    return sql, params


def _job(row: dict[str, Any]) -> Job:
    """A Job instance from a claimed row, without the ORM's per-field conversions (what
    `Model._init_from_db` does for a partial row, for these six columns only)."""
    created, payload = row["created_at"], row["payload"]
    job = Job.__new__(Job)
    job.__dict__.update(
        _partial=True,  # like `.only()`: saving it would write only these fields
        _saved_in_db=True,
        _custom_generated_pk=False,
        _await_when_save={},
        id=row["id"],
        kind=row["kind"],
        payload=json.loads(payload) if isinstance(payload, (str, bytes)) else payload,
        attempts=row["attempts"],
        lease_owner=row["lease_owner"],
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else created,
    )
    return job


async def record_done(owner: str, ids: list[int], now: datetime) -> int:
    """Mark these running jobs of `owner` done; how many were still ours."""
    conn = connections.get("default")
    sql, params = _done_sql(_postgres(conn), owner, ids, now)
    count, _rows = await conn.execute_query(sql, params)
    return int(count)


def _done_sql(postgres: bool, owner: str, ids: list[int], now: datetime) -> tuple[str, list[Any]]:
    if postgres:
        sql = ("UPDATE jobs SET state = $1, lease_owner = NULL, lease_expires = NULL, finished_at = $2, "
               "updated_at = $2 WHERE id = ANY($3::bigint[]) AND state = $4 AND lease_owner = $5")
        return sql, [JobState.DONE.value, now, ids, JobState.RUNNING.value, owner]
    marks = ", ".join("?" * len(ids))
    sql = ("UPDATE jobs SET state = ?, lease_owner = NULL, lease_expires = NULL, finished_at = ?, "
           f"updated_at = ? WHERE id IN ({marks}) AND state = ? AND lease_owner = ?")
    return sql, [JobState.DONE.value, now, now, *ids, JobState.RUNNING.value, owner]


async def settle_and_claim(
    owner: str, done_ids: list[int], now: datetime, lease_expires: datetime, limit: int
) -> tuple[int, list[Job]]:
    """Record `done_ids` done (how many were still ours) and lease up to `limit` jobs, in one
    transaction whose commit does not wait for the disk (see the module's docstring)."""
    conn = connections.get("default")
    if _postgres(conn):
        return await _settle_and_claim_postgres(conn, owner, done_ids, now, lease_expires, limit)
    done_sql, done_params = _done_sql(False, owner, done_ids, now)
    claim_sql, claim_params = _claim_sql(False, owner, now, lease_expires, limit)

    def work(db: sqlite3.Connection) -> tuple[int, list[dict[str, Any]]]:
        # In the connection's own thread, as one call: no other statement of this process
        # runs between these, and the connection is in autocommit mode (isolation_level None).
        db.execute("PRAGMA synchronous = NORMAL")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                done = db.execute(done_sql, done_params).rowcount if done_ids else 0
                rows = [dict(row) for row in db.execute(claim_sql, claim_params).fetchall()] if limit > 0 else []
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.execute("PRAGMA synchronous = FULL")
        return done, rows

    async with conn.acquire_connection() as connection:  # tortoise's lock: its statements wait
        # aiosqlite runs `work` in its thread (`_execute`: aiosqlite has no public way to run
        # several statements, with their results, in one hop).
        done, rows = await connection._execute(work, connection._conn)
    return done, _jobs(rows)


async def _settle_and_claim_postgres(
    conn: Any, owner: str, done_ids: list[int], now: datetime, lease_expires: datetime, limit: int
) -> tuple[int, list[Job]]:
    claim_sql, params = _claim_sql(True, owner, now, lease_expires, limit)
    sql = _settle_and_claim_postgres_sql(claim_sql)
    rows = await conn.execute_query_dict(sql, [*params, JobState.DONE.value, done_ids])
    done = 0
    claimed = []
    for row in rows:
        if row["id"] is None:
            done = int(row["finished"])
        else:
            claimed.append(row)
    return done, _jobs(claimed)


@functools.cache
def _settle_and_claim_postgres_sql(claim_sql: str) -> str:
    """The claim's UPDATE as a CTE beside the done UPDATE (one statement, one snapshot: they
    touch different rows, ours running vs claimable); the last row carries the done count
    and turns synchronous_commit off for this statement's transaction. Built once: the
    claim's text is the same on every call."""
    claim_cte = claim_sql.replace("UPDATE jobs j SET", ", claimed AS (UPDATE jobs j SET", 1) + ")"
    columns = ", ".join(c.strip() for c in CLAIMED_COLUMNS.split(","))
    nulls = ", ".join("NULL" for _ in CLAIMED_COLUMNS.split(","))
    return (f"WITH finished AS (UPDATE jobs SET state = $7, lease_owner = NULL, lease_expires = NULL, "
            "finished_at = $5, updated_at = $5 WHERE id = ANY($8::bigint[]) AND state = $1 AND lease_owner = $2 "
            f"RETURNING 1), {claim_cte.removeprefix('WITH ')} "
            f"SELECT {columns}, NULL::bigint AS finished, NULL::text AS sync FROM claimed UNION ALL "
            f"SELECT {nulls}, (SELECT count(*) FROM finished), set_config('synchronous_commit', 'off', true)")
