"""Shared fixtures. The database under test comes from `BRIDGE_TEST_DATABASE_URL`:
unset or ``sqlite`` → a fresh SQLite file per test; a ``postgres://…`` URL → a
database of the run's own next to the one named (created for the run and
dropped after it), emptied for each test. Either way a test starts from what
`bridge migrate` leaves (see `db_url`). `.ci/run` runs the whole suite once each way.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bridge import db
from bridge.config import Config, DatabaseConfig, load_config
from bridge.keys import INSTANCE_ACTOR, ensure_keys

TEST_DB_ENV = "BRIDGE_TEST_DATABASE_URL"
PG_TEST_DATABASE = "bridge_test"
PLUGIN_DIR = Path(__file__).parent / "plugin"
# Tests talk to 127.0.0.1 only: by default the blog is a closed local port (a blog that is down).
CLOSED_BLOG_URL = "http://127.0.0.1:9/"
MIGRATIONS = sorted(p.stem for p in (Path(db.__file__).parent / "migrations").glob("0*.py"))


def _pg_url(base: str, dbname: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str | None]:
    url = os.environ.get(TEST_DB_ENV, "sqlite")
    if url == "sqlite":
        yield None
        return
    if not url.startswith(("postgres://", "postgresql://")):
        raise pytest.UsageError(f"{TEST_DB_ENV} must be 'sqlite' or a postgres:// URL, got {url!r}")
    # A database of this run's own, so two suites on one server never touch each other's tables.
    name = f"{PG_TEST_DATABASE}_{os.getpid()}"

    async def admin(sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(url, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


UNMIGRATED_MARK = "unmigrated"
# What `bridge migrate` leaves with the default test config: the schema, and a key pair
# for the blog named "blog" and for the instance actor. Made once per run: tortoise's
# migration planner costs ~0.1 s of CPU and two RSA keys ~0.2 s, per test otherwise.
TEMPLATE_ACTORS = ("blog", INSTANCE_ACTOR)
KEY_COLUMNS = ("actor", "algorithm", "private_pem", "public_pem", "active", "created_at")


def _install(url: str) -> None:
    async def run() -> None:
        try:
            await db.migrate(DatabaseConfig(url=url), then=lambda: ensure_keys(TEMPLATE_ACTORS))
        finally:
            await db.close_db()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database installed once per run; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "bridge.db"
    _install(f"sqlite://{path}")
    assert not Path(f"{path}-wal").exists()  # checkpointed on close: the one file is the whole database
    return path


@pytest.fixture(scope="session")
def pg_template() -> dict[str, Any]:
    """The run's PostgreSQL schema: whether it is known to be installed, its keys, and the SQL
    that empties it (emptying every table and putting the keys back resets it)."""
    return {"installed": False, "keys": [], "empty": ""}


@pytest.fixture
def db_url(
    request: pytest.FixtureRequest,
    pg_base_url: str | None,
    pg_template: dict[str, Any],
    tmp_path: Path,
) -> str:
    """A database URL for this test only, as a fresh install's is after `bridge migrate`:
    the schema migrated, keys for "blog" and the instance actor, nothing else.
    Tests marked ``@pytest.mark.unmigrated`` get an empty schema instead."""
    unmigrated = request.node.get_closest_marker(UNMIGRATED_MARK) is not None
    if pg_base_url is None:
        path = tmp_path / "bridge.db"
        if not unmigrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite://{path}"

    async def reset() -> bool:
        """Empty the schema; True when it is left installed."""
        import asyncpg

        conn = await asyncpg.connect(pg_base_url)
        try:
            # Ends sessions a killed subprocess of an earlier test may have left.
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                urlsplit(pg_base_url).path.lstrip("/"),
            )
            if not unmigrated and pg_template["installed"] and await _pg_fully_migrated(conn):
                # DELETE, not TRUNCATE: on these small tables it is ~10 ms against ~90 (no new files to sync).
                async with conn.transaction():
                    await conn.execute(pg_template["empty"])
                    await conn.copy_records_to_table("actor_keys", records=pg_template["keys"], columns=KEY_COLUMNS)
                return True
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
            return False
        finally:
            await conn.close()

    async def remember() -> None:
        """The installed keys, and the SQL that empties every table and restarts its ids."""
        import asyncpg

        conn = await asyncpg.connect(pg_base_url)
        try:
            rows = await conn.fetch(f"SELECT {', '.join(KEY_COLUMNS)} FROM actor_keys ORDER BY id")
            pg_template["keys"] = [tuple(row) for row in rows]
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
            )
            sequences = await conn.fetch(
                "SELECT sequence_name FROM information_schema.sequences"
                " WHERE sequence_schema = 'public' AND sequence_name <> 'tortoise_migrations_id_seq'"
            )
            pg_template["empty"] = "".join(f"DELETE FROM {_quoted(row[0])};" for row in tables) + "".join(
                f"ALTER SEQUENCE {_quoted(row[0])} RESTART;" for row in sequences
            )
        finally:
            await conn.close()

    pg_template["installed"] = asyncio.run(reset())
    if not unmigrated and not pg_template["installed"]:
        _install(pg_base_url)
        asyncio.run(remember())
        pg_template["installed"] = True
    return pg_base_url


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _pg_fully_migrated(conn: Any) -> bool:
    """Every migration recorded as applied (a test that migrates part-way is marked unmigrated)."""
    exists = await conn.fetchval(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'tortoise_migrations'"
    )
    if not exists:
        return False
    names = {row[0] for row in await conn.fetch("SELECT name FROM tortoise_migrations")}
    return names >= set(MIGRATIONS)


@pytest.fixture
def is_postgres(pg_base_url: str | None) -> bool:
    return pg_base_url is not None


ConfigFactory = Callable[..., Config]


@pytest.fixture
def write_config(tmp_path: Path, db_url: str) -> Callable[..., Path]:
    """Write a config file for this test's database; extra TOML sections may be appended."""

    def write(
        extra: str = "",
        *,
        port: int = 8080,
        name: str = "config.toml",
        queue: str = "",
        blog_url: str = CLOSED_BLOG_URL,
        base_url: str = "https://bridge.example",
    ) -> Path:
        path = tmp_path / name
        path.write_text(
            textwrap.dedent(
                f"""\
                [server]
                base_url = "{base_url}"
                listen = "127.0.0.1:{port}"

                [database]
                url = "{db_url}"

                [security]
                allow_private_addresses = true

                [queue]
                poll_seconds = 0.2
                {queue}

                [[blogs]]
                name = "blog"
                url = "{blog_url}"
                """
            )
            + textwrap.dedent(extra),
            encoding="utf-8",
        )
        return path

    return write


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Config:
    return load_config(write_config(), env={})


@pytest.fixture
async def database(config: Config) -> AsyncIterator[Config]:
    """This test's database, migrated, with tortoise connected to it."""
    await db.migrate(config.database)
    try:
        yield config
    finally:
        await db.close_db()


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def bridge_env() -> dict[str, str]:
    """Environment for `bridge` subprocesses: the test job plugin on the path, no config leaks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def bridge_cmd() -> list[str]:
    """The installed console script (what operators run), next to this interpreter."""
    script = Path(sys.executable).parent / "bridge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bridge"]
