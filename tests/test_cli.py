"""The command line contract: every command, its help, its exit codes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bridge import cli, db
from bridge.config import load_config
from bridge.keys import INSTANCE_ACTOR
from bridge.models import ActorKey

from .test_config import COMMANDS


@pytest.mark.parametrize("command", [[], *COMMANDS], ids=["bridge", *(" ".join(c[:2]) for c in COMMANDS)])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    words = [w for w in command if not w.startswith("http")]
    with pytest.raises(SystemExit) as info:
        cli.run([*words, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bridge") and "-c PATH, --config PATH" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["frobnicate"], ["publish"], ["webmention"], ["keys"], ["serve", "--bogus"]):
        with pytest.raises(SystemExit) as info:
            cli.run(argv)
        assert info.value.code == 2, argv
    assert "usage: bridge" in capsys.readouterr().err




def test_publish_and_followers_answer(write_config, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = str(write_config())
    assert cli.run(["-c", path, "publish", "https://elsewhere.example/p"]) == 1
    assert "is on no configured blog" in capsys.readouterr().err
    assert cli.run(["-c", path, "publish", "http://127.0.0.1:9/p"]) == 1  # the blog is down
    assert "cannot read http://127.0.0.1:9/p" in capsys.readouterr().err
    assert cli.run(["-c", path, "followers"]) == 0 and capsys.readouterr().out == "no followers\n"
    assert cli.run(["-c", path, "followers", "--pending"]) == 0
    assert capsys.readouterr().out == "no pending follow requests\n"
    assert cli.run(["-c", path, "followers", "approve", "https://m.example/u/a"]) == 1
    assert "no pending follow request https://m.example/u/a" in capsys.readouterr().err


def test_init_writes_a_config_creates_the_schema_and_makes_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRIDGE_DATABASE_URL", raising=False)
    path = tmp_path / "etc" / "config.toml"
    argv = ["init", "-c", str(path), "--base-url", "https://bridge.example", "--blog-name", "notes", "--blog-url", "https://notes.example/"]
    assert cli.run(argv) == 0
    out = capsys.readouterr().out
    assert f"config: wrote {path}" in out and "actor: @notes@bridge.example for https://notes.example/" in out
    config = load_config(path, env={})
    assert config.blogs[0].name == "notes" and config.database.url == f"sqlite://{tmp_path / 'etc' / 'bridge.db'}"

    async def keys() -> list[tuple[str, str]]:
        await db.open_db(config.database)
        try:
            return sorted(await ActorKey.filter(active=True).values_list("actor", "algorithm"))
        finally:
            await db.close_db()

    assert asyncio.run(keys()) == [(INSTANCE_ACTOR, "rsa"), ("notes", "rsa")]
    before = path.read_text()
    assert cli.run(argv) == 0  # again: nothing overwritten, nothing duplicated
    assert f"config: {path} exists, left as it is" in capsys.readouterr().out
    assert path.read_text() == before
    assert asyncio.run(keys()) == [(INSTANCE_ACTOR, "rsa"), ("notes", "rsa")]


def test_init_on_an_unreachable_database_fails_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str], free_port: int) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[server]\nbase_url = "https://b.example"\n[database]\nurl = "postgres://nobody@127.0.0.1:{free_port}/none"\n'
        '[[blogs]]\nname = "blog"\nurl = "https://blog.example/"\n'
    )
    assert cli.run(["init", "-c", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bridge init: cannot prepare the database at postgres://nobody@127.0.0.1")


def test_python_dash_m_bridge_is_the_same_command() -> None:
    result = subprocess.run([sys.executable, "-m", "bridge", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("bridge ")
