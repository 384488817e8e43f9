"""The configuration contract: every key documented, every bad file one line and exit 2."""

from __future__ import annotations

import dataclasses
import subprocess
import tomllib
from pathlib import Path

import pytest

from bridge import cli
from bridge.config import Config, ConfigError, DeliveryConfig, QueueConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
GOOD = """\
[server]
base_url = "https://bridge.example"

[[blogs]]
name = "blog"
url = "https://blog.example/"
"""


def parse(text: str, env: dict[str, str] | None = None, path: Path = Path("/etc/bridge/config.toml")) -> Config:
    return parse_config(tomllib.loads(text), path=path, env=env or {})


def test_minimal_config_gets_documented_defaults() -> None:
    config = parse(GOOD)
    assert config.server.base_url == "https://bridge.example"
    assert (config.server.listen_host, config.server.listen_port) == ("127.0.0.1", 8080)
    assert config.server.host == "bridge.example"
    assert config.database.url == "sqlite:///etc/bridge/bridge.db"  # beside the config file
    assert config.security.allow_private_addresses is False
    assert config.queue == QueueConfig()
    assert config.delivery == DeliveryConfig()
    assert (config.delivery.max_post_age_days, config.delivery.unavailable_after_days) == (14.0, 7)
    assert config.queue.max_attempts == 21  # about two days of retries (tests/test_retry.py)
    # Issue 19: a fan-out to many servers is not capped at a handful of requests in flight;
    # a dead server is given up on in seconds.
    assert (config.queue.concurrency, config.queue.heavy_concurrency) == (512, 8)
    assert (config.delivery.concurrency, config.delivery.per_host_concurrency) == (512, 8)
    assert (config.delivery.timeout_seconds, config.delivery.connect_timeout_seconds) == (30.0, 5.0)
    assert config.blogs[0].name == "blog" and config.blogs[0].feed is None and config.blogs[0].poll_interval == 300
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server.base_url = "https://other.example"  # type: ignore[misc]


def test_example_config_documents_every_key_with_its_default() -> None:
    example = load_config(ROOT / "config.example.toml", env={})
    defaults = parse(GOOD, path=ROOT / "config.example.toml")
    assert example.queue == defaults.queue
    assert example.delivery == defaults.delivery
    assert example.security == defaults.security
    assert example.log == defaults.log
    assert example.database == defaults.database
    assert example.server == defaults.server
    assert example.bluesky == defaults.bluesky
    text = (ROOT / "config.example.toml").read_text()
    documented = set()
    for line in text.splitlines():
        stripped = line.lstrip("# ").split("=")[0].strip()
        if "=" in line and stripped.isidentifier():
            documented.add(stripped)
    for section in (example.server, example.database, example.security, example.queue, example.delivery, example.log,
                    example.bluesky, example.blogs[0]):
        for field in dataclasses.fields(section):
            if field.name in ("listen_host", "listen_port"):
                continue
            assert field.name in documented, f"{field.name} is not documented in config.example.toml"
    assert "listen" in documented


def test_account_keys_default_as_documented_and_parse() -> None:
    example = load_config(ROOT / "config.example.toml", env={})
    assert example.blogs[0] == parse(GOOD).blogs[0]  # the example's blog keys are the defaults
    blog = parse(GOOD).blogs[0]
    assert (blog.actor_type, blog.post_style, blog.manually_approves_followers, blog.discoverable, blog.indexable,
            blog.show_followers) == ("Person", "auto", False, True, True, True)
    assert (blog.also_known_as, blog.featured, blog.handle_domain, blog.tag_url) == ((), (), None, None)
    assert (blog.quote_policy, blog.sensitive_labels) == ("public", ())  # Mastodon's default: anyone may quote
    blog = parse(GOOD + """\
actor_type = "Organization"
post_style = "article"
manually_approves_followers = true
discoverable = false
indexable = false
show_followers = false
also_known_as = ["https://old.example/users/maya"]
featured = ["https://blog.example/2019/06/12/post/"]
handle_domain = "Blog.Example"
tag_url = "https://blog.example/topics/{tag}/"
quote_policy = "followers"
sensitive_labels = [" NSFW ", "Spoilers"]
""").blogs[0]
    assert (blog.quote_policy, blog.sensitive_labels) == ("followers", ("NSFW", "Spoilers"))
    assert (blog.actor_type, blog.post_style, blog.manually_approves_followers, blog.discoverable, blog.indexable,
            blog.show_followers) == ("Organization", "article", True, False, False, False)
    assert blog.also_known_as == ("https://old.example/users/maya",)
    assert blog.featured == ("https://blog.example/2019/06/12/post/",)
    assert blog.handle_domain == "blog.example" and blog.tag_url == "https://blog.example/topics/{tag}/"


def test_bluesky_is_opt_in_per_blog_and_follows_bridgy_feds_bot_by_default() -> None:
    config = parse(GOOD)
    assert config.blogs[0].bluesky is False
    assert config.bluesky.bridge_account == "@bsky.brid.gy@bsky.brid.gy"  # Bridgy Fed's own bot
    config = parse(GOOD + 'bluesky = true\n[bluesky]\nbridge_account = "bot@127.0.0.1:8081"\n')
    assert config.blogs[0].bluesky is True
    assert config.bluesky.bridge_account == "@bot@127.0.0.1:8081"  # the leading @ added
    assert parse(GOOD + '[bluesky]\nbridge_account = "@Bot@Bots.Example"\n').bluesky.bridge_account == "@Bot@bots.example"


def test_environment_secrets_win_over_the_file() -> None:
    text = GOOD + '[database]\nurl = "sqlite://file.db"\n'
    text = text.replace('base_url = "https://bridge.example"', 'base_url = "https://bridge.example"\nadmin_token = "from-file"')
    config = parse(text, env={"BRIDGE_DATABASE_URL": "postgres://u:p@db.internal:5432/bridge", "BRIDGE_ADMIN_TOKEN": "from-env"})
    assert config.database.url == "postgres://u:p@db.internal:5432/bridge"
    assert config.database.redacted_url == "postgres://u:***@db.internal:5432/bridge"
    assert config.server.admin_token == "from-env"
    assert parse(text).server.admin_token == "from-file"


BAD_CONFIGS = [
    ("unknown top-level key", "colour = 1\n" + GOOD, "colour: unknown key"),
    ("unknown server key", GOOD.replace("[server]", "[server]\nport = 80"), "server.port: unknown key"),
    ("unknown blog key", GOOD + 'title = "x"\n', "blogs[0].title: unknown key"),
    ("unknown section", GOOD + "[cache]\nsize = 1\n", "cache: unknown key"),
    ("listen not a string", GOOD.replace("[server]", "[server]\nlisten = 8080"), "server.listen: expected a string, got an integer"),
    ("listen without port", GOOD.replace("[server]", '[server]\nlisten = "localhost"'), "server.listen: expected HOST:PORT"),
    ("boolean as string", GOOD + '[security]\nallow_private_addresses = "yes"\n', "security.allow_private_addresses: expected true or false, got a string"),
    ("interval as string", GOOD + 'poll_interval = "5m"\n', "blogs[0].poll_interval: expected a number, got a string"),
    ("negative interval", GOOD + "poll_interval = -5\n", "blogs[0].poll_interval: must be greater than 0"),
    ("zero concurrency", GOOD + "[queue]\nconcurrency = 0\n", "queue.concurrency: must be greater than 0"),
    ("float concurrency", GOOD + "[queue]\nconcurrency = 2.5\n", "queue.concurrency: expected an integer, got a number"),
    ("zero post age", GOOD + "[delivery]\nmax_post_age_days = 0\n", "delivery.max_post_age_days: must be greater than 0"),
    ("unknown delivery key", GOOD + "[delivery]\nretries = 3\n", "delivery.retries: unknown key"),
    ("zero connect timeout", GOOD + "[delivery]\nconnect_timeout_seconds = 0\n",
     "delivery.connect_timeout_seconds: must be greater than 0"),
    ("connect timeout over the whole", GOOD + "[delivery]\ntimeout_seconds = 10\nconnect_timeout_seconds = 15\n",
     "delivery.connect_timeout_seconds: must not be more than delivery.timeout_seconds (10), got 15"),
    ("connect timeout over the default whole", GOOD + "[delivery]\nconnect_timeout_seconds = 60\n",
     "delivery.connect_timeout_seconds: must not be more than delivery.timeout_seconds (30), got 60"),
    ("zero heavy concurrency", GOOD + "[queue]\nheavy_concurrency = 0\n", "queue.heavy_concurrency: must be greater than 0"),
    ("ftp blog url", GOOD.replace("https://blog.example/", "ftp://blog.example/"), "blogs[0].url: not an absolute http(s) URL"),
    ("relative blog url", GOOD.replace("https://blog.example/", "/blog"), "blogs[0].url: not an absolute http(s) URL"),
    ("blog url with bad port", GOOD.replace("https://blog.example/", "https://blog.example:99999/"), "blogs[0].url: not an absolute http(s) URL"),
    ("feed not a url", GOOD + 'feed = "feed.xml"\n', "blogs[0].feed: not an absolute http(s) URL"),
    ("base url not a url", GOOD.replace("https://bridge.example", "bridge.example"), "server.base_url: not an absolute http(s) URL"),
    ("base url with a path", GOOD.replace("https://bridge.example", "https://bridge.example/bridge"), "server.base_url: must be an origin"),
    ("missing base url", "[server]\n" + GOOD.split("\n", 2)[2], "server.base_url: missing"),
    ("missing server", GOOD.split("\n", 2)[2], "server: missing"),
    ("server not a table", 'server = "x"\n' + GOOD.split("\n", 2)[2], "server: must be a table"),
    ("no blog", GOOD.split("[[blogs]]")[0], "blogs: no blog configured"),
    ("empty blogs", "blogs = []\n" + GOOD.split("[[blogs]]")[0], "blogs: no blog configured"),
    ("blogs as a table", GOOD.replace("[[blogs]]", "[blogs]"), "blogs: must be an array of tables"),
    ("blog without url", GOOD.replace('url = "https://blog.example/"', ""), "blogs[0].url: missing"),
    ("blog without name", GOOD.replace('name = "blog"', ""), "blogs[0].name: missing"),
    ("duplicate blog name", GOOD + GOOD.split("\n\n", 1)[1], "blogs[1].name: duplicate blog name 'blog' (also blogs[0])"),
    ("blog name with a space", GOOD.replace('name = "blog"', 'name = "my blog"'), "blogs[0].name: 'my blog' is not a valid handle"),
    ("blog name upper case", GOOD.replace('name = "blog"', 'name = "Blog"'), "blogs[0].name: 'Blog' is not a valid handle"),
    ("mysql database", GOOD + '[database]\nurl = "mysql://db/bridge"\n', "database.url: expected sqlite://PATH or postgres://"),
    ("log level", GOOD + '[log]\nlevel = "loud"\n', "log.level: must be one of debug, info, warning, error"),
    # The fediverse account (issue 4).
    ("actor type", GOOD + 'actor_type = "Robot"\n', "blogs[0].actor_type: must be one of Person, Service, Organization, Group, Application, got 'Robot'"),
    ("actor type lower case", GOOD + 'actor_type = "person"\n', "blogs[0].actor_type: must be one of"),
    ("post style", GOOD + 'post_style = "thread"\n', "blogs[0].post_style: must be one of auto, note, article, got 'thread'"),
    # Issue 20: quotes and content warnings.
    ("quote policy", GOOD + 'quote_policy = "friends"\n', "blogs[0].quote_policy: must be one of public, followers, nobody, got 'friends'"),
    ("sensitive labels as a string", GOOD + 'sensitive_labels = "nsfw"\n', "blogs[0].sensitive_labels: expected an array, got a string"),
    ("sensitive label empty", GOOD + 'sensitive_labels = ["nsfw", " "]\n', "blogs[0].sensitive_labels[1]: expected a category or tag name, got an empty string"),
    ("sensitive label a number", GOOD + "sensitive_labels = [18]\n", "blogs[0].sensitive_labels[0]: expected a category or tag name, got an integer"),
    ("approval as string", GOOD + 'manually_approves_followers = "yes"\n', "blogs[0].manually_approves_followers: expected true or false, got a string"),
    ("discoverable as integer", GOOD + "discoverable = 1\n", "blogs[0].discoverable: expected true or false, got an integer"),
    ("indexable as string", GOOD + 'indexable = "no"\n', "blogs[0].indexable: expected true or false, got a string"),
    ("show followers as string", GOOD + 'show_followers = "no"\n', "blogs[0].show_followers: expected true or false, got a string"),
    ("also known as a string", GOOD + 'also_known_as = "https://old.example/u"\n', "blogs[0].also_known_as: expected an array, got a string"),
    ("also known as not a url", GOOD + 'also_known_as = ["@me@old.example"]\n', "blogs[0].also_known_as[0]: not an absolute http(s) URL"),
    ("also known as a number", GOOD + "also_known_as = [1]\n", "blogs[0].also_known_as[0]: expected a string, got an integer"),
    ("featured elsewhere", GOOD + 'featured = ["https://elsewhere.example/p/"]\n', "blogs[0].featured[0]: https://elsewhere.example/p/ is not a post of this blog"),
    ("featured not a url", GOOD + 'featured = ["p/1"]\n', "blogs[0].featured[0]: not an absolute http(s) URL"),
    ("handle domain with a space", GOOD + 'handle_domain = "blog example"\n', "blogs[0].handle_domain: expected a domain such as blog.example"),
    ("handle domain as url", GOOD + 'handle_domain = "https://blog.example/"\n', "blogs[0].handle_domain: expected a domain"),
    ("tag url without placeholder", GOOD + 'tag_url = "https://blog.example/tags/"\n', "blogs[0].tag_url: must contain {tag}"),
    ("tag url relative", GOOD + 'tag_url = "/tag/{tag}/"\n', "blogs[0].tag_url: not an absolute http(s) URL"),
    # Issue 21: Bluesky through Bridgy Fed.
    ("bluesky as string", GOOD + 'bluesky = "yes"\n', "blogs[0].bluesky: expected true or false, got a string"),
    ("bluesky bot not a handle", GOOD + '[bluesky]\nbridge_account = "bsky.brid.gy"\n',
     "bluesky.bridge_account: expected a fediverse handle such as @bsky.brid.gy@bsky.brid.gy, got 'bsky.brid.gy'"),
    ("bluesky bot as url", GOOD + '[bluesky]\nbridge_account = "https://bsky.brid.gy/bsky.brid.gy"\n',
     "bluesky.bridge_account: expected a fediverse handle"),
    ("bluesky bot with a space", GOOD + '[bluesky]\nbridge_account = "@bsky bot@bsky.brid.gy"\n',
     "bluesky.bridge_account: expected a fediverse handle"),
    ("bluesky bot as array", GOOD + '[bluesky]\nbridge_account = ["@bsky.brid.gy@bsky.brid.gy"]\n',
     "bluesky.bridge_account: expected a string, got an array"),
    ("unknown bluesky key", GOOD + '[bluesky]\nbot = "@a@b.example"\n', "bluesky.bot: unknown key"),
    ("bluesky not a table", 'bluesky = true\n' + GOOD, "bluesky: must be a table ([bluesky]), got a boolean"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^BRIDGE_DATABASE_URL: expected sqlite://PATH"):
        parse(GOOD, env={"BRIDGE_DATABASE_URL": "redis://cache"})


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match=r"no such file \(run `bridge init`"):
        load_config(tmp_path / "absent.toml", env={})


COMMANDS = [
    ["serve"], ["serve", "--no-workers"], ["worker"], ["migrate"], ["publish", "https://blog.example/p"],
    ["poll"], ["inspect", "https://blog.example/p"], ["webmention", "send", "https://a.example/", "https://b.example/"],
    ["followers"], ["followers", "approve", "https://m.example/u/a"], ["interactions"], ["keys", "rotate"],
    ["check"], ["init"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_every_command_stops_on_a_bad_config_with_exit_2(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD.replace("https://blog.example/", "ftp://blog.example/"))
    assert cli.run(["-c", str(path), *command]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [f"bridge: config error: {path}: blogs[0].url: not an absolute http(s) URL"]


@pytest.mark.parametrize("command", [["serve"], ["check"]], ids=["serve", "check"])
def test_a_bad_bluesky_bot_stops_with_exit_2_naming_the_key(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD + 'bluesky = true\n[bluesky]\nbridge_account = "bsky.brid.gy"\n')
    assert cli.run(["-c", str(path), *command]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"bridge: config error: {path}: bluesky.bridge_account: expected a fediverse handle such as "
        "@bsky.brid.gy@bsky.brid.gy, got 'bsky.brid.gy'"]


def test_console_script_exit_code_and_single_line(tmp_path: Path, bridge_cmd: list[str], bridge_env: dict[str, str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD + GOOD.split("\n\n", 1)[1])
    for args in (["-c", str(path), "poll"], ["poll", "-c", str(path)]):
        result = subprocess.run([*bridge_cmd, *args], capture_output=True, text=True, env=bridge_env, timeout=60)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.strip().splitlines() == [
            f"bridge: config error: {path}: blogs[1].name: duplicate blog name 'blog' (also blogs[0])"
        ]
    env = dict(bridge_env, BRIDGE_CONFIG=str(tmp_path / "missing.toml"))
    result = subprocess.run([*bridge_cmd, "migrate"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "missing.toml: no such file" in result.stderr


def test_delivery_keys_parse() -> None:
    config = parse(GOOD + "[delivery]\nconcurrency = 10\nper_host_concurrency = 2\ntimeout_seconds = 5\n"
                          "unavailable_after_days = 3\nmax_post_age_days = 1.5\nconnect_timeout_seconds = 2\n")
    assert config.delivery == DeliveryConfig(concurrency=10, per_host_concurrency=2, timeout_seconds=5.0,
                                             unavailable_after_days=3, max_post_age_days=1.5,
                                             connect_timeout_seconds=2.0)


def test_the_connect_timeout_is_never_longer_than_the_whole_delivery() -> None:
    """A short delivery.timeout_seconds alone shortens the connect timeout's default too."""
    assert parse(GOOD + "[delivery]\ntimeout_seconds = 1\n").delivery.connect_timeout_seconds == 1.0
    assert parse(GOOD + "[delivery]\ntimeout_seconds = 8\n").delivery.connect_timeout_seconds == 5.0
    assert parse(GOOD + "[delivery]\ntimeout_seconds = 8\nconnect_timeout_seconds = 8\n").delivery.connect_timeout_seconds == 8.0


def test_settings_that_hold_deliveries_back_are_named_and_the_defaults_are_not() -> None:
    from bridge.config.advice import slow_settings

    assert slow_settings(parse(GOOD)) == []  # the defaults
    # What config.example.toml said until 0.2: every limit it set is named, with its cost.
    old = slow_settings(parse(GOOD + "[queue]\nconcurrency = 8\n[delivery]\nconcurrency = 16\nper_host_concurrency = 1\n"))
    assert [line.split(" = ")[0] for line in old] == ["queue.concurrency", "delivery.concurrency",
                                                     "delivery.per_host_concurrency"]
    assert old[0].startswith("queue.concurrency = 8: at most 8 deliveries run at once (the default, 512,")
    # Fast enough on its own, but the queue caps the deliveries below what delivery allows.
    capped = slow_settings(parse(GOOD + "[queue]\nconcurrency = 200\n[delivery]\nconcurrency = 400\n"))
    assert capped == ["queue.concurrency = 200 is below delivery.concurrency = 400: deliveries are jobs, "
                      "so only 200 are in flight"]
    assert slow_settings(parse(GOOD + "[queue]\nconcurrency = 128\n[delivery]\nconcurrency = 128\nper_host_concurrency = 2\n")) == []
