"""Shared fixtures. The database under test comes from `BRIDGE_TEST_DATABASE_URL`:
unset or ``sqlite`` → a fresh SQLite file per test; a ``postgres://…`` URL → a
database of the run's own next to the one named (created for the run and
dropped after it), with a fresh schema per test. `.ci/run` runs the whole suite once each way.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bridge import db
from bridge.config import Config, load_config

TEST_DB_ENV = "BRIDGE_TEST_DATABASE_URL"
PG_TEST_DATABASE = "bridge_test"
PLUGIN_DIR = Path(__file__).parent / "plugin"
# Tests talk to 127.0.0.1 only: by default the blog is a closed local port (a blog that is down).
CLOSED_BLOG_URL = "http://127.0.0.1:9/"


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


@pytest.fixture
def db_url(pg_base_url: str | None, tmp_path: Path) -> str:
    """A database URL with an empty schema, for this test only."""
    if pg_base_url is None:
        return f"sqlite://{tmp_path / 'bridge.db'}"

    async def reset() -> None:
        import asyncpg

        conn = await asyncpg.connect(pg_base_url)
        try:
            # Ends sessions a killed subprocess of an earlier test may have left.
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                urlsplit(pg_base_url).path.lstrip("/"),
            )
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    asyncio.run(reset())
    return pg_base_url


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
