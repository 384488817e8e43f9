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

    # RSA signs requests, Ed25519 the integrity proofs of what is sent (FEP-8b32).
    assert asyncio.run(keys()) == [(INSTANCE_ACTOR, "ed25519"), (INSTANCE_ACTOR, "rsa"), ("notes", "ed25519"),
                                   ("notes", "rsa")]
    before = path.read_text()
    assert cli.run(argv) == 0  # again: nothing overwritten, nothing duplicated
    assert f"config: {path} exists, left as it is" in capsys.readouterr().out
    assert path.read_text() == before
    # RSA signs requests, Ed25519 the integrity proofs of what is sent (FEP-8b32).
    assert asyncio.run(keys()) == [(INSTANCE_ACTOR, "ed25519"), (INSTANCE_ACTOR, "rsa"), ("notes", "ed25519"),
                                   ("notes", "rsa")]


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


def seeded_kinds(write_config, extra: dict[str, object] | None = None) -> tuple[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    """A config on this test's database holding one interaction of every kind (tests/admin_seed.py)."""
    from bridge.app import prepare_storage
    from bridge.models import Interaction

    from .admin_seed import seed_kinds

    path = write_config()
    config = load_config(path, env={})

    async def seed() -> dict[str, int]:
        await prepare_storage(config)
        try:
            ids = await seed_kinds()
            if extra:
                await Interaction.filter(id=ids["quote"]).update(**extra)
            return ids
        finally:
            await db.close_db()

    return str(path), asyncio.run(seed())


def listed(out: str) -> dict[int, list[str]]:
    """`bridge interactions` output: id -> its tab-separated fields."""
    fields = [line.split("\t") for line in out.splitlines()]
    return {int(f[0]): f for f in fields}


def test_interactions_show_reactions_with_their_emoji_and_quotes_as_quotes(
        write_config, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from .admin_seed import HOSTILE_EMOJI

    path, ids = seeded_kinds(write_config)
    assert cli.run(["-c", path, "interactions"]) == 0
    rows = listed(capsys.readouterr().out)
    assert len(rows) == len(ids) and all(len(f) == 9 for f in rows.values())  # one line, nine columns each
    kinds = {name: rows[i][2] for name, i in ids.items()}
    assert kinds == {"reply": "reply", "like": "like", "old_like": "like", "reaction": "reaction 🎉",
                     "hostile_reaction": f"reaction {HOSTILE_EMOJI}", "repost": "repost", "quote": "quote"}
    assert rows[ids["quote"]][6:8] == ["@quinn@social.example", "https://blog.example/2026/a-post/"]


@pytest.mark.parametrize("kind", ["reply", "like", "reaction", "repost", "quote"])
def test_interactions_kind_selects_exactly_its_rows(kind: str, write_config,  # type: ignore[no-untyped-def]
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from .admin_seed import KIND_ROWS

    path, ids = seeded_kinds(write_config)
    assert cli.run(["-c", path, "interactions", "--kind", kind]) == 0
    rows = listed(capsys.readouterr().out)
    assert set(rows) == {ids[name] for name in KIND_ROWS[kind]}
    assert {f[2].split(" ")[0] for f in rows.values()} == {kind}


def test_interactions_kind_with_held_and_the_wrong_kind(write_config,  # type: ignore[no-untyped-def]
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from bridge.models import InteractionState

    path, ids = seeded_kinds(write_config, {"state": InteractionState.HELD})
    assert cli.run(["-c", path, "interactions", "--held", "--kind", "quote"]) == 0
    assert list(listed(capsys.readouterr().out)) == [ids["quote"]]
    assert cli.run(["-c", path, "interactions", "--held", "--kind", "reaction"]) == 0
    assert capsys.readouterr().out == "no interactions of kind reaction held for approval\n"
    for wrong in ("likes", "LIKE", "emoji", ""):
        assert cli.run(["-c", path, "interactions", "--kind", wrong]) == 2, wrong
        err = capsys.readouterr().err
        assert "--kind must be one of reply, like, reaction, repost, quote" in err, wrong


def test_interactions_help_names_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    """The parser names the kinds without importing bridge/ops (every command would pay for it)."""
    from bridge.ops.interactions import KIND_FILTERS

    with pytest.raises(SystemExit):
        cli.run(["interactions", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--kind KIND" in help_text
    assert all(kind in help_text for kind in KIND_FILTERS)


def test_a_reaction_emoji_prints_on_one_line_without_escapes(write_config,  # type: ignore[no-untyped-def]
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The emoji is what a remote server sent: a terminal escape, a tab, a newline or a bidi
    override in it must not reach the operator's terminal nor break the line's columns."""
    from bridge.models import Interaction

    path, ids = seeded_kinds(write_config)

    async def set_emoji(emoji: str) -> None:
        await db.open_db(load_config(Path(path), env={}).database)
        try:
            await Interaction.filter(id=ids["reaction"]).update(data={"emoji": emoji})
        finally:
            await db.close_db()

    asyncio.run(set_emoji("\x1b]0;owned\x07\x1b[31m🔥\tfire\n\u202egnp.exe \u200d" + "x" * 100))
    assert cli.run(["-c", path, "interactions", "--kind", "reaction"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    rows = listed(out)
    assert len(out.splitlines()) == 2 and all(len(f) == 9 for f in rows.values())
    kind = rows[ids["reaction"]][2]
    assert kind.startswith("reaction ]0;owned[31m🔥 fire gnp.exe \u200dxxx") and kind.endswith("…")
    assert len(kind) == len("reaction ") + 32
