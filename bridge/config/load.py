"""Reading the one TOML configuration file into the typed settings of
bridge/config/settings.py.

Every problem is reported as a `ConfigError` whose message starts with the key
that is wrong (``blogs[0].url: not an absolute http(s) URL``), so the CLI can
print one line and exit 2. Secrets may come from the environment
(`BRIDGE_DATABASE_URL`, `BRIDGE_ADMIN_TOKEN`), which wins over the file.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.config.settings import (
    ENV_ADMIN_TOKEN,
    ENV_DATABASE_URL,
    QUOTE_POLICIES,
    AdminConfig,
    BlogConfig,
    BlueskyConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    DeliveryConfig,
    LogConfig,
    ModerationConfig,
    QueueConfig,
    SecurityConfig,
    ServerConfig,
)
from bridge.config.values import (
    get_value,
    http_url,
    only_keys,
    positive,
    section,
    toml_type,
)
from bridge.core.blocks import block_pattern
from bridge.core.textguard import ascii_digits
from bridge.core.urls import BLOG_NAME

LOG_LEVELS = ("debug", "info", "warning", "error")
# AS2 actor types Mastodon accepts as accounts (app/services/activitypub/
# process_account_service.rb, SUPPORTED_TYPES); "Service" and "Application" show a bot badge.
ACTOR_TYPES = ("Person", "Service", "Organization", "Group", "Application")
# How posts become AS2 objects (bridge/as2/posts.py, object_type): Note, Article, or chosen per post.
POST_STYLES = ("auto", "note", "article")
# A host name with an optional port, for `handle_domain` (RFC 1123 labels).
# The user part of a fediverse handle (RFC 7565 `acct:` userpart, less percent-encoding).
_HANDLE_USER_RE = re.compile(r"^[A-Za-z0-9._~-]{1,255}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}(?::|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::[0-9]{1,5})?$")


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, check and freeze the configuration at `path`."""
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "no such file (run `bridge init` to write a starter config)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses on nested arrays and inline tables
        raise ConfigError(str(path), "not valid TOML: nested too deeply") from None
    return parse_config(data, path=path, env=env)


def parse_config(data: Mapping[str, Any], *, path: Path, env: Mapping[str, str]) -> Config:
    """Check a decoded TOML document; `path` anchors relative SQLite paths."""
    only_keys("", data, {"server", "database", "security", "queue", "delivery", "log", "blogs", "admin",
                          "moderation", "bluesky"})
    server = section(data, "server", required=True)
    only_keys("server", server, {"base_url", "listen", "admin_token"})
    base_url = http_url("server.base_url", get_value(server, "server.base_url", str, required=True))
    if urlsplit(base_url).path not in ("", "/") or urlsplit(base_url).query:
        raise ConfigError("server.base_url", "must be an origin (scheme, host, optional port), without a path")
    host, port = _listen("server.listen", get_value(server, "server.listen", str, "127.0.0.1:8080"))
    admin_token = get_value(server, "server.admin_token", str, "")
    if env.get(ENV_ADMIN_TOKEN):
        admin_token = env[ENV_ADMIN_TOKEN]

    database = section(data, "database")
    only_keys("database", database, {"url"})
    db_key, db_url = "database.url", get_value(database, "database.url", str, "sqlite://bridge.db")
    if env.get(ENV_DATABASE_URL):
        db_key, db_url = ENV_DATABASE_URL, env[ENV_DATABASE_URL]
    db_url = _database_url(db_key, db_url, path.parent)

    security = section(data, "security")
    only_keys("security", security, {"allow_private_addresses"})

    queue_values = _numbers(data, "queue", QueueConfig())
    delivery_values = _connect_timeout(section(data, "delivery"), _numbers(data, "delivery", DeliveryConfig()))

    log = section(data, "log")
    only_keys("log", log, {"level"})
    level = get_value(log, "log.level", str, "info").lower()
    if level not in LOG_LEVELS:
        raise ConfigError("log.level", f"must be one of {', '.join(LOG_LEVELS)}")

    return Config(
        server=ServerConfig(base_url=base_url.rstrip("/"), listen_host=host, listen_port=port, admin_token=admin_token),
        database=DatabaseConfig(url=db_url),
        security=SecurityConfig(
            allow_private_addresses=get_value(security, "security.allow_private_addresses", bool, False)
        ),
        queue=QueueConfig(**queue_values),
        delivery=DeliveryConfig(**delivery_values),
        log=LogConfig(level=level),
        blogs=_blogs(data.get("blogs")),
        path=path,
        admin=_admin(data),
        moderation=_moderation(data),
        bluesky=_bluesky(data),
    )


def _connect_timeout(table: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Connecting is part of the delivery's time: never longer than the whole (by default the
    shorter of the two)."""
    total, connect = values["timeout_seconds"], values["connect_timeout_seconds"]
    if "connect_timeout_seconds" not in table:
        return {**values, "connect_timeout_seconds": min(connect, total)}
    if connect > total:
        raise ConfigError("delivery.connect_timeout_seconds",
                          f"must not be more than delivery.timeout_seconds ({total:g}), got {connect:g}")
    return values


def _admin(data: Mapping[str, Any]) -> AdminConfig:
    """The [admin] section (issue 8)."""
    table = section(data, "admin")
    only_keys("admin", table, {"session_hours", "login_attempts", "login_window_minutes", "metrics_listen"})
    session_hours = positive("admin.session_hours", get_value(table, "admin.session_hours", float, 12.0))
    attempts = get_value(table, "admin.login_attempts", int, 5)
    if attempts <= 0:
        raise ConfigError("admin.login_attempts", "must be greater than 0")
    window = positive("admin.login_window_minutes", get_value(table, "admin.login_window_minutes", float, 15.0))
    metrics_listen = get_value(table, "admin.metrics_listen", str, "")
    host, port = _listen("admin.metrics_listen", metrics_listen) if metrics_listen else ("", 0)
    return AdminConfig(session_hours=session_hours, login_attempts=attempts, login_window_minutes=window,
                       metrics_listen=metrics_listen, metrics_host=host, metrics_port=port)


def _bluesky(data: Mapping[str, Any]) -> BlueskyConfig:
    """The [bluesky] section (issue 21): the handle of the bot the opted-in blogs follow."""
    table = section(data, "bluesky")
    only_keys("bluesky", table, {"bridge_account"})
    value = get_value(table, "bluesky.bridge_account", str, BlueskyConfig().bridge_account)
    return BlueskyConfig(bridge_account=_fediverse_handle("bluesky.bridge_account", value))


def _fediverse_handle(key: str, value: str) -> str:
    """`@user@host` (the leading @ optional, `host` may carry a port), as `@user@host`, the host in lower case."""
    user, at, host = value.strip().removeprefix("@").partition("@")
    if not at or not _HANDLE_USER_RE.fullmatch(user) or not _DOMAIN_RE.fullmatch(host.lower()):
        raise ConfigError(key, f"expected a fediverse handle such as {BlueskyConfig().bridge_account}, got {value!r}")
    return f"@{user}@{host.lower()}"


def _moderation(data: Mapping[str, Any]) -> ModerationConfig:
    table = section(data, "moderation")
    defaults = ModerationConfig()
    only_keys("moderation", table, set(ModerationConfig.__slots__))
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("blocked_domains", "blocked_actors"):
        values = get_value(table, f"moderation.{key}", list, [])
        out = []
        for i, item in enumerate(values):
            if not isinstance(item, str):
                raise ConfigError(f"moderation.{key}[{i}]", f"expected a string, got {toml_type(item)}")
            try:
                pattern = block_pattern(item)
            except ValueError as exc:
                raise ConfigError(f"moderation.{key}[{i}]", str(exc)) from None
            if (key == "blocked_actors") != ("/" in pattern):
                raise ConfigError(f"moderation.{key}[{i}]", "expected an actor URL" if key == "blocked_actors"
                                  else "expected a domain (a host name)")
            out.append(pattern)
        lists[key] = tuple(out)
    limits = {}
    for key in ("actor_hourly_limit", "host_hourly_limit"):
        limits[key] = get_value(table, f"moderation.{key}", int, getattr(defaults, key))
        if limits[key] <= 0:
            raise ConfigError(f"moderation.{key}", "must be greater than 0")
    return ModerationConfig(blocked_domains=lists["blocked_domains"], blocked_actors=lists["blocked_actors"],
                            hold_interactions=get_value(table, "moderation.hold_interactions", bool, False),
                            actor_hourly_limit=limits["actor_hourly_limit"],
                            host_hourly_limit=limits["host_hourly_limit"])


def _blogs(raw: object) -> tuple[BlogConfig, ...]:
    if raw is None:
        raise ConfigError("blogs", "no blog configured: add a [[blogs]] table with name and url")
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        raise ConfigError("blogs", "must be an array of tables ([[blogs]])")
    if not raw:
        raise ConfigError("blogs", "no blog configured: add a [[blogs]] table with name and url")
    blogs: list[BlogConfig] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(raw):
        key = f"blogs[{i}]"
        only_keys(key, table, _BLOG_KEYS)
        name = get_value(table, f"{key}.name", str, required=True)
        if not BLOG_NAME.fullmatch(name):
            raise ConfigError(
                f"{key}.name",
                f"{name!r} is not a valid handle: use lower-case letters, digits, '_', and '.' or '-' inside",
            )
        if name in seen:
            raise ConfigError(f"{key}.name", f"duplicate blog name {name!r} (also blogs[{seen[name]}])")
        seen[name] = i
        urls: dict[str, str | None] = {
            field: None if table.get(field) is None else http_url(f"{key}.{field}", get_value(table, f"{key}.{field}", str))
            for field in ("feed", "avatar", "header")
        }
        blog = BlogConfig(
            name=name,
            url=http_url(f"{key}.url", get_value(table, f"{key}.url", str, required=True)),
            poll_interval=positive(f"{key}.poll_interval", get_value(table, f"{key}.poll_interval", float, 300.0)),
            display_name=get_value(table, f"{key}.display_name", str) or None,
            bio=get_value(table, f"{key}.bio", str) or None,
            feed=urls["feed"],
            avatar=urls["avatar"],
            header=urls["header"],
        )
        blogs.append(_account(key, table, blog))
    return tuple(blogs)


_BLOG_KEYS = {
    "name", "url", "feed", "poll_interval", "display_name", "bio", "avatar", "header",
    "actor_type", "post_style", "manually_approves_followers", "discoverable", "indexable",
    "also_known_as", "featured", "show_followers", "handle_domain", "tag_url", "quote_policy", "sensitive_labels",
    "bluesky",
}


def _account(key: str, table: Mapping[str, Any], blog: BlogConfig) -> BlogConfig:
    """The keys that shape the blog's fediverse account (issue 4)."""
    actor_type = get_value(table, f"{key}.actor_type", str, "Person")
    if actor_type not in ACTOR_TYPES:
        raise ConfigError(f"{key}.actor_type", f"must be one of {', '.join(ACTOR_TYPES)}, got {actor_type!r}")
    post_style = get_value(table, f"{key}.post_style", str, "auto")
    if post_style not in POST_STYLES:
        raise ConfigError(f"{key}.post_style", f"must be one of {', '.join(POST_STYLES)}, got {post_style!r}")
    featured = _url_list(f"{key}.featured", table)
    for i, url in enumerate(featured):
        if not blog.owns(url):
            raise ConfigError(f"{key}.featured[{i}]", f"{url} is not a post of this blog ({blog.url})")
    handle_domain = get_value(table, f"{key}.handle_domain", str)
    if handle_domain is not None:
        handle_domain = handle_domain.strip().lower()
        if not _DOMAIN_RE.match(handle_domain):
            raise ConfigError(f"{key}.handle_domain", f"expected a domain such as blog.example, got {handle_domain!r}")
    tag_url = get_value(table, f"{key}.tag_url", str)
    if tag_url is not None:
        if "{tag}" not in tag_url:
            raise ConfigError(f"{key}.tag_url", "must contain {tag} where the tag's slug goes")
        http_url(f"{key}.tag_url", tag_url.replace("{tag}", "tag"))
    quote_policy = get_value(table, f"{key}.quote_policy", str, "public")
    if quote_policy not in QUOTE_POLICIES:
        raise ConfigError(f"{key}.quote_policy", f"must be one of {', '.join(QUOTE_POLICIES)}, got {quote_policy!r}")
    return replace(
        blog,
        actor_type=actor_type,
        post_style=post_style,
        manually_approves_followers=get_value(table, f"{key}.manually_approves_followers", bool, False),
        discoverable=get_value(table, f"{key}.discoverable", bool, True),
        indexable=get_value(table, f"{key}.indexable", bool, True),
        also_known_as=_url_list(f"{key}.also_known_as", table),
        featured=featured,
        show_followers=get_value(table, f"{key}.show_followers", bool, True),
        handle_domain=handle_domain,
        tag_url=tag_url,
        quote_policy=quote_policy,
        sensitive_labels=_labels(f"{key}.sensitive_labels", table),
        bluesky=get_value(table, f"{key}.bluesky", bool, False),
    )


def _labels(key: str, table: Mapping[str, Any]) -> tuple[str, ...]:
    """An optional array of category or tag names, kept as given (compared without case)."""
    value = get_value(table, key, list, [])
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{key}[{i}]", "expected a category or tag name, got "
                              + (toml_type(item) if not isinstance(item, str) else "an empty string"))
    return tuple(item.strip() for item in value)


def _url_list(key: str, table: Mapping[str, Any]) -> tuple[str, ...]:
    """An optional array of absolute http(s) URLs."""
    value = get_value(table, key, list, [])
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{key}[{i}]", f"expected a string, got {toml_type(item)}")
    return tuple(http_url(f"{key}[{i}]", item) for i, item in enumerate(value))


def _numbers(data: Mapping[str, Any], name: str, defaults: Any) -> dict[str, Any]:
    """A section of positive numbers, each defaulting to its field in `defaults`."""
    table = section(data, name)
    only_keys(name, table, set(type(defaults).__slots__))
    values: dict[str, Any] = {}
    for field in type(defaults).__slots__:
        default = getattr(defaults, field)
        kind: type = int if isinstance(default, int) else float
        value: float = get_value(table, f"{name}.{field}", kind, default)
        if not math.isfinite(value) or value <= 0:  # TOML has nan and inf; a nan timeout never fires
            raise ConfigError(f"{name}.{field}", "must be greater than 0 (and finite)")
        values[field] = value
    return values


def _listen(key: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not ascii_digits(port) or not 0 < int(port) < 65536:
        raise ConfigError(key, f"expected HOST:PORT such as 127.0.0.1:8080, got {value!r}")
    return host, int(port)


def _database_url(key: str, value: str, base_dir: Path) -> str:
    scheme, sep, rest = value.partition("://")
    if scheme == "sqlite" and sep and rest:
        if rest == ":memory:" or Path(rest).is_absolute():
            return value
        # Relative SQLite paths live beside the config file, not the working directory.
        return f"sqlite://{(base_dir / rest).absolute()}"
    if scheme in ("postgres", "postgresql") and sep and urlsplit(value).hostname:
        return value
    raise ConfigError(key, "expected sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DBNAME")


def starter_config(base_url: str, name: str, blog_url: str) -> str:
    """The config `bridge init` writes when there is none."""
    return f"""\
# Bridge configuration. Every key is documented, with its default, in config.example.toml.

[server]
base_url = "{base_url}"   # the public origin the fediverse sees (https behind a TLS proxy)
listen = "127.0.0.1:8080"

[database]
url = "sqlite://bridge.db"   # beside this file; or postgres://user:password@host:5432/dbname

[[blogs]]
name = "{name}"   # the handle: @{name}@HOST
url = "{blog_url}"
"""
