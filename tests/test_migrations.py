"""Schema migrations: data survives an upgrade, the models match the migrations,
and processes starting together migrate once."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from bridge import db
from bridge.config import Config, load_config
from bridge.keys import INSTANCE_ACTOR
from bridge.models import ActorKey, Job, JobState

from .conftest import MIGRATIONS


@pytest.mark.unmigrated
async def test_data_survives_the_upgrade_from_the_first_migration(config: Config) -> None:
    first = MIGRATIONS[0]
    try:
        assert await db.migrate(config.database, target=first) == [first]
        queued = await Job.create(kind="deliver", payload={"inbox": "https://m.example/inbox", "ü": [1, 2]}, run_after=db_now())
        dead = await Job.create(kind="webmention", state=JobState.DEAD, attempts=15, last_error="410 Gone", run_after=db_now())
        before = await Job.all().order_by("id").values()

        applied = await db.migrate(config.database)
        assert applied == MIGRATIONS[1:]
        assert await Job.all().order_by("id").values() == before
        assert {j.id for j in await Job.filter(state=JobState.DEAD)} == {dead.id}
        assert (await Job.get(id=queued.id)).payload == {"inbox": "https://m.example/inbox", "ü": [1, 2]}
        await ActorKey.create(actor="blog", algorithm="rsa", private_pem="x", public_pem="y")  # the new table works
        assert await db.migrate(config.database) == []  # idempotent
        assert await db.pending_migrations(config.database) == []
    finally:
        await db.close_db()


def db_now():  # type: ignore[no-untyped-def]
    from bridge.jobs.store import utcnow

    return utcnow()


async def test_models_and_migrations_agree(config: Config) -> None:
    """A model change without its migration fails here (run `tortoise makemigrations`, see README)."""
    tortoise_config = db.tortoise_config(config.database)
    async with tortoise_cli_context(tortoise_config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, tortoise_config["apps"]).changes()
    assert [w.name for w in writers] == []


@pytest.mark.slow
@pytest.mark.unmigrated
def test_processes_starting_together_migrate_once(
    write_config, bridge_cmd: list[str], bridge_env: dict[str, str]  # type: ignore[no-untyped-def]
) -> None:
    path = write_config()
    procs = [
        subprocess.Popen([*bridge_cmd, "-c", str(path), "migrate"], env=bridge_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    applied = [line for out, _err in outputs for line in out.splitlines() if line.startswith("applied ")]
    assert sorted(applied) == [f"applied {m}" for m in MIGRATIONS]  # each migration once, by one of them

    async def keys() -> list[str]:
        await db.open_db(load_config(path, env={}).database)
        try:
            return sorted(await ActorKey.filter(active=True).values_list("actor", "algorithm"))
        finally:
            await db.close_db()

    # One key of each algorithm each (RSA, Ed25519), not three.
    assert asyncio.run(keys()) == sorted((actor, algorithm) for actor in ("blog", INSTANCE_ACTOR)
                                         for algorithm in ("ed25519", "rsa"))


async def test_sqlite_runs_with_durable_settings(database: Config, is_postgres: bool) -> None:
    if is_postgres:
        pytest.skip("SQLite pragmas")
    from tortoise import connections

    conn = connections.get("default")
    pragmas = {}
    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
        _count, rows = await conn.execute_query(f"PRAGMA {name}")
        pragmas[name] = list(dict(rows[0]).values())[0]
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 15000}
