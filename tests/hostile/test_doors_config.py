"""Bad configuration and bad command lines. A bad config value: exit 2 and exactly one
line on stderr, `bridge: config error: …` naming the key; a bad command line: exit 2
and argparse's usage message. Run in-process through `bridge.cli.run` (what `bridge`
runs); the database the good config names is snapshotted around each case."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.cli import run
from bridge.config import Config
from tests.hostile.table import Case, ids, record, snapshot

GOOD = """\
[server]
base_url = "https://bridge.example"
listen = "127.0.0.1:8080"

[database]
url = "{db}"

[queue]
concurrency = 8

[delivery]
timeout_seconds = 30.0

[log]
level = "info"

[[blogs]]
name = "blog"
url = "https://blog.example/"
"""


def swap(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


def add(extra: str) -> Callable[[str], str]:
    return lambda text: text + textwrap.dedent(extra)


def whole(text: str) -> Callable[[str], str]:
    return lambda _: text


BLOG = 'name = "blog"\nurl = "https://blog.example/"\n'
CONFIG_CASES: list[Case] = [
    Case("base_url missing", 2, "server.base_url", swap('base_url = "https://bridge.example"\n', "")),
    Case("base_url not a URL", 2, "server.base_url", swap('"https://bridge.example"', '"bridge.example"')),
    Case("base_url ftp", 2, "server.base_url", swap('"https://bridge.example"', '"ftp://bridge.example"')),
    Case("base_url with a path", 2, "server.base_url", swap('"https://bridge.example"', '"https://bridge.example/x"')),
    Case("base_url with a query", 2, "server.base_url", swap('"https://bridge.example"', '"https://bridge.example?a=1"')),
    Case("base_url without a host", 2, "server.base_url", swap('"https://bridge.example"', '"https://"')),
    Case("base_url with a bad port", 2, "server.base_url", swap('"https://bridge.example"', '"https://bridge.example:99999"')),
    Case("base_url a number", 2, "server.base_url", swap('"https://bridge.example"', "42")),
    Case("base_url with a newline", 2, "server.base_url", swap('"https://bridge.example"', '"https://bridge.example\\n"')),
    Case("listen not HOST:PORT", 2, "server.listen", swap('"127.0.0.1:8080"', '"nope"')),
    Case("listen port too big", 2, "server.listen", swap('"127.0.0.1:8080"', '"127.0.0.1:99999"')),
    Case("listen a number", 2, "server.listen", swap('"127.0.0.1:8080"', "8080")),
    Case("admin_token a boolean", 2, "server.admin_token", add('[server]\n')),  # replaced below
    Case("unknown key in server", 2, "server.colour", swap('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:8080"\ncolour = "blue"')),
    Case("unknown section", 2, "extra", add('\n[extra]\nx = 1\n')),
    Case("server not a table", 2, "server", whole('server = 5\n[[blogs]]\n' + BLOG)),
    Case("database url mysql", 2, "database.url", swap('url = "{db}"', 'url = "mysql://x/y"')),
    Case("database url a number", 2, "database.url", swap('url = "{db}"', "url = 5")),
    Case("security flag a string", 2, "security.allow_private_addresses", add('\n[security]\nallow_private_addresses = "yes"\n')),
    Case("queue concurrency 0", 2, "queue.concurrency", swap("concurrency = 8", "concurrency = 0")),
    Case("queue concurrency negative", 2, "queue.concurrency", swap("concurrency = 8", "concurrency = -1")),
    Case("queue concurrency a string", 2, "queue.concurrency", swap("concurrency = 8", 'concurrency = "8"')),
    Case("queue concurrency a float", 2, "queue.concurrency", swap("concurrency = 8", "concurrency = 1.5")),
    Case("queue concurrency a boolean", 2, "queue.concurrency", swap("concurrency = 8", "concurrency = true")),
    Case("queue lease_seconds a string", 2, "queue.lease_seconds", add('')),  # replaced below
    Case("queue unknown key", 2, "queue.workers", swap("concurrency = 8", "concurrency = 8\nworkers = 3")),
    Case("delivery timeout 0", 2, "delivery.timeout_seconds", swap("timeout_seconds = 30.0", "timeout_seconds = 0")),
    Case("delivery timeout nan", 2, "delivery.timeout_seconds", swap("timeout_seconds = 30.0", "timeout_seconds = nan")),
    Case("delivery timeout inf", 2, "delivery.timeout_seconds", swap("timeout_seconds = 30.0", "timeout_seconds = inf")),
    Case("log level verbose", 2, "log.level", swap('level = "info"', 'level = "verbose"')),
    Case("log level a number", 2, "log.level", swap('level = "info"', "level = 3")),
    Case("no blogs", 2, "blogs", swap("[[blogs]]\n" + BLOG, "")),
    Case("blogs a string", 2, "blogs", whole('blogs = "x"\n[server]\nbase_url = "https://bridge.example"\n')),
    Case("blogs an empty array", 2, "blogs", whole('blogs = []\n[server]\nbase_url = "https://bridge.example"\n')),
    Case("blog name with a space", 2, "blogs[0].name", swap('name = "blog"', 'name = "my blog"')),
    Case("blog name upper case", 2, "blogs[0].name", swap('name = "blog"', 'name = "Blog"')),
    Case("blog name a path", 2, "blogs[0].name", swap('name = "blog"', 'name = "../etc"')),
    Case("blog name empty", 2, "blogs[0].name", swap('name = "blog"', 'name = ""')),
    Case("blog name non-ASCII", 2, "blogs[0].name", swap('name = "blog"', 'name = "blög"')),
    Case("blog name with a right-to-left override", 2, "blogs[0].name", swap('name = "blog"', 'name = "blog\\u202e"')),
    Case("blog name duplicated", 2, "blogs[1].name", add("\n[[blogs]]\n" + BLOG)),
    Case("blog url missing", 2, "blogs[0].url", swap('url = "https://blog.example/"\n', "")),
    Case("blog url without scheme", 2, "blogs[0].url", swap('"https://blog.example/"', '"blog.example"')),
    Case("blog url javascript:", 2, "blogs[0].url", swap('"https://blog.example/"', '"javascript:alert(1)"')),
    Case("blog poll_interval 0", 2, "blogs[0].poll_interval", add("poll_interval = 0\n")),
    Case("blog poll_interval inf", 2, "blogs[0].poll_interval", add("poll_interval = inf\n")),
    Case("queue lease_seconds nan", 2, "queue.lease_seconds", add("\n[queue]\n")),  # replaced below
    Case("blog poll_interval a string", 2, "blogs[0].poll_interval", add('poll_interval = "fast"\n')),
    Case("blog actor_type unknown", 2, "blogs[0].actor_type", add('actor_type = "Robot"\n')),
    Case("blog post_style unknown", 2, "blogs[0].post_style", add('post_style = "tweet"\n')),
    Case("blog featured elsewhere", 2, "blogs[0].featured[0]", add('featured = ["https://evil.example/p"]\n')),
    Case("blog featured a number", 2, "blogs[0].featured[0]", add("featured = [1]\n")),
    Case("blog also_known_as ftp", 2, "blogs[0].also_known_as[0]", add('also_known_as = ["ftp://old.example/u"]\n')),
    Case("blog handle_domain not a domain", 2, "blogs[0].handle_domain", add('handle_domain = "not a domain"\n')),
    Case("blog tag_url without {tag}", 2, "blogs[0].tag_url", add('tag_url = "https://blog.example/tag/"\n')),
    Case("blog avatar not a URL", 2, "blogs[0].avatar", add('avatar = "me.png"\n')),
    Case("blog unknown key", 2, "blogs[0].colour", add('colour = "red"\n')),
    Case("not TOML", 2, "not valid TOML", whole("this is = = not toml\n")),
    Case("TOML nested 100 000 deep", 2, "nested too deeply", whole("x = " + "[" * 100_000 + "]" * 100_000 + "\n")),
    Case("not UTF-8", 2, "cannot read", whole("\udcff")),  # written as bytes below
    Case("empty file", 2, "server", whole("")),
]
CONFIG_CASES = [
    Case(c.name, 2, "server.admin_token", add("")) if c.name == "admin_token a boolean" else
    Case(c.name, 2, "queue.lease_seconds", add("")) if c.name == "queue lease_seconds a string" else c
    for c in CONFIG_CASES
]
_FIXUPS = {
    "admin_token a boolean": swap('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:8080"\nadmin_token = true'),
    "queue lease_seconds a string": swap("concurrency = 8", 'concurrency = 8\nlease_seconds = "long"'),
    "queue lease_seconds nan": swap("concurrency = 8", "concurrency = 8\nlease_seconds = -nan"),
}


@pytest.mark.parametrize("case", CONFIG_CASES, ids=ids(CONFIG_CASES))
async def test_bad_config_exits_2_naming_the_key(database: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 case: Case) -> None:
    edit = _FIXUPS.get(case.name, case.send)
    text = edit(GOOD).replace("{db}", database.database.url)
    path = tmp_path / "bad.toml"
    if case.name == "not UTF-8":
        path.write_bytes(b'[server]\nbase_url = "\xff\xfe"\n')
    else:
        path.write_text(text, encoding="utf-8")
    before = await snapshot()
    capsys.readouterr()
    code = await asyncio.to_thread(run, ["migrate", "-c", str(path)])  # fails at the config, before any database
    err = capsys.readouterr().err
    after = await snapshot()
    record("config", case, got_status=code, got_reason=err.strip()[:160], detail=err.strip(), db_unchanged=before == after)
    assert code == case.status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bridge: config error: "), err
    assert case.reason in lines[0], lines[0]
    assert after == before


CLI_CASES: list[Case] = [
    Case("no command", 2, "usage:", []),
    Case("unknown command", 2, "invalid choice", ["frobnicate"]),
    Case("unknown option", 2, "unrecognized arguments", ["migrate", "--frob"]),
    Case("publish without URL", 2, "the following arguments are required: URL", ["publish"]),
    Case("inspect without URL", 2, "the following arguments are required: URL", ["inspect"]),
    Case("webmention send without target", 2, "TARGET", ["webmention", "send", "https://a.example/"]),
    Case("followers approve without actor", 2, "ACTOR", ["followers", "approve"]),
    Case("poll --blog naming no blog", 2, "no blog named 'nope'", ["poll", "--blog", "nope"]),
    Case("keys rotate --blog naming no blog", 2, "no blog named 'x\\u202e'", ["keys", "rotate", "--blog", "x\u202e"]),
    Case("config file absent", 2, "no such file", ["migrate", "-c", "/nonexistent/bridge.toml"]),
    Case("config path is a directory", 2, "cannot read", ["migrate", "-c", "/"]),
    Case("--blog without a value", 2, "expected one argument", ["poll", "--blog"]),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
async def test_bad_command_line_exits_2(database: Config, bridge_cmd: list[str], bridge_env: dict[str, str],
                                        case: Case) -> None:
    """Run as operators run it: the `bridge` console script in a subprocess."""
    argv = list(case.send)
    if argv and "-c" not in argv and argv[0] != "frobnicate":
        argv += ["-c", str(database.path)]
    before = await snapshot()
    proc = await asyncio.create_subprocess_exec(*bridge_cmd, *argv, env=bridge_env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    _out, raw_err = await asyncio.wait_for(proc.communicate(), 60)
    err = raw_err.decode()
    after = await snapshot()
    record("command line", case, got_status=proc.returncode or 0,
           got_reason=err.strip().splitlines()[-1][:160] if err.strip() else "", detail=err.strip(),
           db_unchanged=before == after)
    assert proc.returncode == case.status, err
    assert case.reason in err, err
    assert "Traceback" not in err, err
    assert after == before
