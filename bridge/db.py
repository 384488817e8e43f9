"""The database edge: tortoise-orm set-up, schema migrations, and a readiness probe.

SQLite is the embedded default (WAL, foreign keys, a busy timeout, full sync:
an activity answered 202 must survive a power cut). PostgreSQL serves installs
with several processes; they migrate under an advisory lock so only one of
them changes the schema at a time.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.queryset import QuerySet

from bridge.config import DatabaseConfig

log = logging.getLogger("bridge.db")

APP_LABEL = "bridge"
MIGRATIONS_MODULE = "bridge.migrations"
# Any constant works; it only has to be the same in every bridge process.
_PG_MIGRATION_LOCK = 0x62726964  # "brid"
SQLITE_PRAGMAS: dict[str, Any] = {
    "journal_mode": "WAL",
    "foreign_keys": "ON",
    "busy_timeout": 15000,  # ms a writer waits for another process's write lock
    "synchronous": "FULL",
}


async def _release_as_is(_connection: Any) -> None:
    """What asyncpg's pool runs on a connection given back, instead of its default reset
    (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``): tortoise gives a
    connection back after every statement outside a transaction, so the default doubled the
    round trips of a busy queue. Nothing here leaves session state on a pooled connection
    (settings are transaction-local, the migration lock has a connection of its own), and
    asyncpg still rolls back a transaction left open before calling this."""


def tortoise_config(db: DatabaseConfig) -> dict[str, Any]:
    """The tortoise config dict for our one app and one connection."""
    connection = expand_db_url(db.url)
    if db.is_sqlite:
        connection["credentials"].update(SQLITE_PRAGMAS)
    else:
        connection["credentials"].setdefault("minsize", 1)
        connection["credentials"].setdefault("maxsize", 10)
        connection["credentials"]["reset"] = _release_as_is  # asyncpg's pool, through tortoise
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": ["bridge.models"],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_db(db: DatabaseConfig) -> None:
    """Connect tortoise (process-global) to the configured database."""
    await Tortoise.init(config=tortoise_config(db))


async def close_db() -> None:
    """Close every connection; a no-op when tortoise was never initialised."""
    try:
        await connections.close_all(discard=True)
    except RuntimeError:  # "No TortoiseContext is currently active": nothing to close
        pass


@asynccontextmanager
async def database(db: DatabaseConfig) -> AsyncIterator[None]:
    await open_db(db)
    try:
        yield
    finally:
        await close_db()


async def migrate(
    db: DatabaseConfig,
    *,
    target: str | None = None,
    progress: Callable[[str], None] | None = None,
    then: Callable[[], Awaitable[object]] | None = None,
) -> list[str]:
    """Apply pending migrations (up to `target`, e.g. ``"0001_jobs"``); return what was applied.

    `then` runs while the cross-process lock is still held (one-time set-up
    such as making keys). Leaves tortoise initialised, as `open_db` does.
    """
    from tortoise.migrations.api import migrate as tortoise_migrate

    applied: list[str] = []

    def on_progress(event: str, app_label: str, name: str) -> None:
        if event != "apply_done":
            return
        applied.append(name)
        log.info("migration.applied name=%s.%s", app_label, name)
        if progress:
            progress(f"applied {app_label}.{name}")

    async with _migration_lock(db):
        await tortoise_migrate(
            config=tortoise_config(db),
            target=f"{APP_LABEL}.{target}" if target else None,
            progress=on_progress,
        )
        # The migration API initialises tortoise without binding models to their
        # connection; initialise again for normal use.
        await close_db()
        await open_db(db)
        if then is not None:
            await then()
    return applied


async def pending_migrations(db: DatabaseConfig) -> list[str]:
    """Names of migrations not applied yet (tortoise must be initialised)."""
    from tortoise.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections.get("default"), tortoise_config(db)["apps"])
    return [step.migration.name for step in await executor.plan() if not step.backward]


@asynccontextmanager
async def _migration_lock(db: DatabaseConfig) -> AsyncIterator[None]:
    """Serialise schema changes across processes sharing one database."""
    if db.is_sqlite:
        path = Path(expand_db_url(db.url)["credentials"]["file_path"])
        if str(path) == ":memory:":
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.migrate-lock", "w") as lock_file:
            await asyncio.to_thread(fcntl.flock, lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    import asyncpg

    # A session-level advisory lock on a connection of its own, held while
    # tortoise migrates through its pool.
    conn = await asyncpg.connect(db.url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _PG_MIGRATION_LOCK)
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _PG_MIGRATION_LOCK)
    finally:
        await conn.close()


async def ping() -> None:
    """Raise if the database does not answer a trivial query."""
    await connections.get("default").execute_query("SELECT 1")


_T = TypeVar("_T")


async def in_own_task(work: Awaitable[_T]) -> _T:
    """Await `work` in a task of its own, for loops that live as long as the process.

    tortoise-orm 1.1.9 sets the task's current transaction before it sends BEGIN and
    does not undo it when BEGIN fails (`TransactionContextPooled.__aenter__`): after a
    PostgreSQL restart a long-lived task that opens transactions would reuse that dead,
    released connection forever ("connection has been released back to the pool").
    A child task gets a copy of the context, so whatever leaks dies with it."""
    return await asyncio.ensure_future(work)


async def delete_counted(query: QuerySet[Any]) -> int:
    """Delete the rows `query` selects, and say how many: on SQLite, tortoise's own count of a
    DELETE also counts what triggers wrote (the dashboard's history, migration 0013)."""
    ids = await query.values_list("id", flat=True)
    if ids:
        await query.filter(id__in=list(ids)).delete()
    return len(ids)
