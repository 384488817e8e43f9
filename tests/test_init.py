"""`bridge init` from the blog's address (issue 21): the recorded WordPress blog served on
127.0.0.1 is read through the bridge's own reader, the config written is complete, holds a
new admin token, works on this machine, and `bridge check` passes on it. On a terminal the
two questions are asked; elsewhere never. An existing config is left alone; a blog that
cannot be read leaves nothing behind (exit 1)."""

from __future__ import annotations

import asyncio
import builtins
import re
import socket
import stat
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bridge import cli
from bridge.app import make_app
from bridge.config import load_config, parse_config
from bridge.config.settings import ConfigError
from bridge.config.starter import (
    PRIVATE_NETWORK,
    THIS_MACHINE,
    Starter,
    handle_from,
    host_locality,
    listen_for,
    normalise_url,
    render,
)

from .blogserver import BlogServer
from .test_check import run_check

BLOG = "http://127.0.0.1:8765/"
REQUIRED = ("blog reachable", "feed found", "recent post readable", "author name and avatar",
            "webmention endpoint on posts", "bridge's public URL serves the actor", "keys present", "clock sane")


@pytest.fixture(autouse=True)
def no_bridge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's environment must not reach the in-process runs (it wins over the file)."""
    for name in ("BRIDGE_DATABASE_URL", "BRIDGE_ADMIN_TOKEN", "BRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@contextmanager
def blog_in_thread(blog: BlogServer) -> Iterator[BlogServer]:
    """The blog served from a thread of its own: `cli.run` runs its own event loop here."""
    loop = asyncio.new_event_loop()
    started: list[BaseException | None] = []
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(blog.start())
            started.append(None)
        except (OSError, RuntimeError) as exc:  # shown by the test, not lost in the thread
            started.append(exc)
        ready.set()
        if started[0] is None:
            loop.run_forever()

    thread = threading.Thread(target=serve, name="blog", daemon=True)
    thread.start()
    assert ready.wait(60), "the blog server did not start"
    if started[0] is not None:
        raise started[0]
    try:
        yield blog
    finally:
        asyncio.run_coroutine_threadsafe(blog.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def closed_port() -> tuple[socket.socket, int]:
    """A port held but not listening: connections to it are refused."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    return held, held.getsockname()[1]


# -- the whole way, as an operator runs it ---------------------------------------------------


async def test_init_from_the_blog_writes_a_config_on_which_check_passes(
        tmp_path: Path, free_port: int, bridge_cmd: list[str], bridge_env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{free_port}"
    path = tmp_path / "bridge" / "config.toml"
    blog = await BlogServer.wordpress("twentytwentyone").start()
    try:
        proc = await asyncio.create_subprocess_exec(
            *bridge_cmd, "init", "-c", str(path), "--blog", BLOG, "--base-url", base, env=bridge_env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        raw_out, raw_err = await proc.communicate()
        out, err = raw_out.decode(), raw_err.decode()
        print(out)  # shown with -s or on failure
        assert proc.returncode == 0, out + err

        config = load_config(path, env={})
        blog_config = config.blogs[0]
        # The account is named from the blog (its title: its host is an address), the feed found.
        assert blog_config.name == "bingelearner" and blog_config.url == BLOG
        assert blog_config.feed == f"{BLOG}feed/"
        # Works on this machine: private addresses allowed, listening on the base URL's port.
        assert config.security.allow_private_addresses is True
        assert (config.server.listen_host, config.server.listen_port) == ("127.0.0.1", free_port)
        assert config.server.base_url == base
        assert config.database.url == f"sqlite://{path.parent / 'bridge.db'}"
        # The token: printed once, stored, the file private.
        token = config.server.admin_token
        assert len(token) >= 40 and out.count(token) == 1 and token not in err
        assert f"admin token: {token}" in out
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # Progress as it went, and the way in.
        for line in (f"reading the blog at {BLOG} (on this machine", "  name: Binge Learner; author: Maya Okonkwo",
                     f"  feed: {BLOG}feed/ (rss, 7 items)", "account: @bingelearner@127.0.0.1:",
                     f"config: wrote {path}", "keys: an RSA-2048 and an Ed25519 key pair for each of bingelearner",
                     f"  the front door: {base}/", f"  the dashboard:  {base}/admin"):
            assert line in out, line
        # init's own check ran with the app answering on the base URL meanwhile.
        assert "all required points pass" in out and "✓ bridge's public URL serves the actor" in out
        assert out.index("all required points pass") < out.index("admin token:")

        # `bridge check` as the operator runs it, once `bridge serve` answers on the base URL.
        server = TestServer(make_app(config, workers=False), host="127.0.0.1", port=free_port)
        await server.start_server()
        try:
            code, text, marks = await run_check(bridge_cmd, bridge_env, path)
        finally:
            await server.close()
    finally:
        await blog.stop()
    assert code == 0, text
    assert all(marks[point] == "✓" for point in REQUIRED), text
    assert "all required points pass" in text


def test_blog_name_overrides_and_the_config_is_commented(tmp_path: Path, free_port: int,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    with blog_in_thread(BlogServer.wordpress("twentytwentythree")):
        code = cli.run(["init", "-c", str(path), "--blog", "127.0.0.1:8765", "--base-url",
                        f"127.0.0.1:{free_port}", "--blog-name", "maya"])
    out = capsys.readouterr().out
    assert code == 0, out
    config = load_config(path, env={})
    # A scheme is added where the answer has none (http on this machine), a home page ends with /.
    assert config.blogs[0].name == "maya" and config.blogs[0].url == BLOG
    assert config.server.base_url == f"http://127.0.0.1:{free_port}"
    text = path.read_text()
    assert "config.example.toml" in text and "# true because the blog and the base URL are on this machine" in text
    assert "# (no proxy). In production: 127.0.0.1:8080 behind a TLS proxy" in text
    assert "named from" not in out  # the operator chose it


# -- questions on a terminal, never elsewhere ----------------------------------------------


def test_on_a_terminal_the_two_questions_are_asked(tmp_path: Path, free_port: int, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[str] = []
    replies = iter(["not a url at all", BLOG, f"http://127.0.0.1:{free_port}/"])

    def fake_input(prompt: str = "") -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", fake_input)
    path = tmp_path / "config.toml"
    with blog_in_thread(BlogServer.wordpress("twentytwentyone")):
        code = cli.run(["init", "-c", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    # The bad answer is asked again; the base URL's question shows its default.
    assert len(asked) == 3 and asked[0] == asked[1] and asked[0].startswith("Your blog's home page")
    assert asked[2] == "The bridge's address [http://127.0.0.1:8080]: "
    assert "'not a url at all': not an absolute http(s) URL. Again:" in out
    config = load_config(path, env={})
    assert config.blogs[0].name == "bingelearner" and config.blogs[0].feed == f"{BLOG}feed/"
    assert config.server.base_url == f"http://127.0.0.1:{free_port}" and config.server.listen_port == free_port
    assert config.server.admin_token and out.count(config.server.admin_token) == 1


def test_on_a_terminal_enter_takes_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt="": "")
    path = tmp_path / "config.toml"
    assert cli.run(["init", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    config = load_config(path, env={})
    assert (config.blogs[0].name, config.blogs[0].url) == ("blog", "https://blog.example/")
    assert config.server.base_url == "http://127.0.0.1:8080" and config.blogs[0].feed is None
    assert "is a placeholder: edit blogs[0].url" in out and "reading the blog" not in out


def test_flags_given_on_a_terminal_are_not_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt="": pytest.fail(f"asked {prompt!r}"))
    path = tmp_path / "config.toml"
    assert cli.run(["init", "-c", str(path), "--blog-url", "https://notes.example/",
                    "--base-url", "https://bridge.example"]) == 0
    assert load_config(path, env={}).blogs[0].url == "https://notes.example/"


def test_no_question_without_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A script, a pipe, CI: the old defaults, never a prompt (pytest's stdin is no terminal)."""
    monkeypatch.setattr(builtins, "input", lambda prompt="": pytest.fail(f"asked {prompt!r}"))
    path = tmp_path / "config.toml"
    assert cli.run(["init", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    config = load_config(path, env={})
    assert (config.blogs[0].name, config.blogs[0].url) == ("blog", "https://blog.example/")
    assert config.server.base_url == "http://127.0.0.1:8080"
    assert "two questions" not in out and config.server.admin_token in out


def test_interrupted_questions_write_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", eof)
    path = tmp_path / "config.toml"
    assert cli.run(["init", "-c", str(path)]) == 1
    assert "no answer (end of input): nothing written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# -- what is left alone ----------------------------------------------------------------------


def test_an_existing_config_is_left_as_it_is(write_config, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config()
    before = path.read_bytes()
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt="": pytest.fail(f"asked {prompt!r}"))
    held, port = closed_port()
    with held:  # --blog is not read: the config there is the operator's
        assert cli.run(["init", "-c", str(path), "--blog", f"http://127.0.0.1:{port}/"]) == 0
    out = capsys.readouterr().out
    assert f"config: {path} exists, left as it is" in out and "admin token" not in out
    assert path.read_bytes() == before


def test_a_blog_that_cannot_be_read_leaves_nothing_behind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "new" / "config.toml"
    held, port = closed_port()
    with held:
        assert cli.run(["init", "-c", str(path), "--blog", f"http://127.0.0.1:{port}/"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"bridge init: cannot read the blog at http://127.0.0.1:{port}/: ")
    assert "Nothing written" in err and "--blog-url URL" in err
    assert not path.exists() and not (path.parent / "bridge.db").exists()
    # A page that answers 404 is no blog either.
    with blog_in_thread(BlogServer.wordpress("twentytwentyone")):
        assert cli.run(["init", "-c", str(path), "--blog", f"{BLOG}no/such/page/"]) == 1
    assert "HTTP 404" in capsys.readouterr().err and not path.exists()


def test_bad_flags_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    assert cli.run(["init", "-c", str(path), "--base-url", "https://bridge.example/path"]) == 2
    assert "bridge init: --base-url: must be an origin" in capsys.readouterr().err
    assert cli.run(["init", "-c", str(path), "--blog-url", "https://b.example/", "--blog-name", "Maya"]) == 2
    assert "bridge init: --blog-name: 'Maya' is not a valid handle" in capsys.readouterr().err
    assert not path.exists()


# -- the pure decisions ----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "title", "expected"), [
    ("https://myblog.example/", None, ("myblog", "the blog's host")),
    ("https://www.myblog.example/", "Whatever", ("myblog", "the blog's host")),
    ("https://blog.maya.example/", None, ("maya", "the blog's host")),
    ("https://maya.wordpress.com/", None, ("maya", "the blog's host")),
    ("https://my-blog.example/", None, ("myblog", "the blog's host")),
    ("http://127.0.0.1:8765/", "Binge Learner", ("bingelearner", "the blog's title")),
    ("http://localhost:1313/", "Émilie's Notes — 2026", ("emiliesnotes2026", "the blog's title")),
    ("http://[::1]/", "日本語", ("blog", "a default")),
    ("http://127.0.0.1/", None, ("blog", "a default")),
])
def test_the_handle_comes_from_the_host_or_the_title(url: str, title: str | None,
                                                     expected: tuple[str, str]) -> None:
    assert handle_from(url, title) == expected


@pytest.mark.parametrize(("host", "where"), [
    ("127.0.0.1", THIS_MACHINE), ("localhost", THIS_MACHINE), ("[::1]", THIS_MACHINE), ("app.localhost", THIS_MACHINE),
    ("10.1.2.3", PRIVATE_NETWORK), ("192.168.1.20", PRIVATE_NETWORK), ("172.16.0.9", PRIVATE_NETWORK),
    ("myblog.local", PRIVATE_NETWORK), ("172.32.0.1", None), ("8.8.8.8", None), ("myblog.example", None),
])
def test_where_a_host_is(host: str, where: str | None) -> None:
    assert host_locality(host) == where


def test_listen_follows_the_base_url() -> None:
    assert listen_for("http://127.0.0.1:9000", THIS_MACHINE) == "127.0.0.1:9000"
    assert listen_for("http://localhost", THIS_MACHINE) == "127.0.0.1:80"
    assert listen_for("http://192.168.1.20:8080", PRIVATE_NETWORK) == "0.0.0.0:8080"
    assert listen_for("https://bridge.example", None) == "127.0.0.1:8080"
    # https is a TLS proxy's to serve, wherever it is: the daemon speaks plain HTTP behind it.
    assert listen_for("https://bridge.local", PRIVATE_NETWORK) == "127.0.0.1:8080"


def test_answers_become_urls() -> None:
    assert normalise_url("myblog.example", "--blog") == "https://myblog.example/"
    assert normalise_url("localhost:1313", "--blog") == "http://localhost:1313/"
    assert normalise_url("https://bridge.example/", "--base-url", origin=True) == "https://bridge.example"
    with pytest.raises(ConfigError, match="--base-url: must be an origin"):
        normalise_url("https://bridge.example/x", "--base-url", origin=True)
    with pytest.raises(ConfigError, match="--blog: not an absolute"):
        normalise_url("ftp://blog.example/", "--blog")


def test_what_the_blog_says_cannot_break_the_file(tmp_path: Path) -> None:
    """A title is the blog's to choose: quotes, newlines, DEL, bidi overrides stay inert."""
    hostile = 'Evil"\n[server]\nbase_url = "https://evil.example"\x7f\u202e #'
    text = render(Starter(base_url="https://bridge.example", blog_name="evil", blog_url="https://evil.example/",
                          admin_token="t", site_name=hostile, author_name=hostile, read=True,
                          feed="https://evil.example/feed/", feed_kind='rss"\n'))
    config = parse_config(tomllib.loads(text), path=tmp_path / "config.toml", env={})
    assert config.server.base_url == "https://bridge.example" and config.security.allow_private_addresses is False
    assert config.blogs[0].feed == "https://evil.example/feed/"
    assert "\x7f" not in text and "\u202e" not in text
    assert all(line == "" or re.match(r"^(#|\[|[a-z_]+ = )", line) for line in text.splitlines()), text
