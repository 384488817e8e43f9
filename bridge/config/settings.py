"""The configuration's shape: typed, frozen settings, one dataclass per TOML section,
and the one error type that names the key that is wrong.

Pure: bridge/config/load.py reads and checks the TOML file into these.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ENV_CONFIG = "BRIDGE_CONFIG"
ENV_DATABASE_URL = "BRIDGE_DATABASE_URL"
ENV_ADMIN_TOKEN = "BRIDGE_ADMIN_TOKEN"
DEFAULT_CONFIG_PATH = "config.toml"


class ConfigError(Exception):
    """A problem with the configuration; `key` names where it is."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ServerConfig:
    base_url: str
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    admin_token: str = ""

    @property
    def host(self) -> str:
        """The public host (with port if any): the domain part of `@name@host`."""
        return urlsplit(self.base_url).netloc


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str = "sqlite://bridge.db"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:")

    @property
    def redacted_url(self) -> str:
        """The URL with any password replaced, safe to log or print."""
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", self.url)


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    allow_private_addresses: bool = False


@dataclass(frozen=True, slots=True)
class QueueConfig:
    # Jobs one process runs at once. Most are deliveries, webmentions and inbox activities,
    # which wait on the network, not the CPU (issue 19: 8 capped a fan-out at 8 requests;
    # 512 leaves room for the requests dead servers hold until their timeout).
    concurrency: int = 512
    # Of those, jobs that read and parse pages or fan a post out (polls, pings, publishes,
    # actor updates, plugins' kinds: bridge/jobs/kinds.py `HEAVY`) at most this many.
    heavy_concurrency: int = 8
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    # The first retry after ~5 s (most failures last a moment), doubling up to the 6 h cap:
    # 21 attempts span about 53 hours (Mastodon: 16 over 50–75 hours), enough for a server
    # down over a weekend (issue 6). bridge/jobs/retry.py
    max_attempts: int = 21
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 6 * 3600.0
    shutdown_grace_seconds: float = 10.0
    job_timeout_seconds: float = 300.0
    keep_done_days: float = 7.0


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """Sending activities to inboxes (bridge/publish/delivery.py, bridge/publish/fanout.py)."""

    concurrency: int = 512  # deliveries in flight at once in one process
    # Of which to one host at most: a host that has not answered yet, or whose last
    # attempt failed (no answer, 5xx), gets one at a time; a 429 halves it for a while.
    per_host_concurrency: int = 8
    timeout_seconds: float = 30.0  # one POST, connecting included
    # Connecting (TCP and TLS) to the host at most this long (load.py: never more than
    # timeout_seconds): a dead host is given up on in seconds, not the whole timeout.
    connect_timeout_seconds: float = 5.0
    unavailable_after_days: int = 7  # separate days of failures, no success: the host is skipped
    # A post first seen more than this many days after its publication date goes to the
    # outbox but is not pushed to the followers' timelines.
    max_post_age_days: float = 14.0


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """The operator's seat: the dashboard's sessions and login limit, and /metrics (issue 8)."""

    session_hours: float = 12.0  # a dashboard session ends this long after login
    login_attempts: int = 5  # failed logins allowed per client address per login_window_minutes
    login_window_minutes: float = 15.0
    # HOST:PORT of a second listener serving only /metrics without a token; "" = none
    # (then /metrics is on the main listener and needs `Authorization: Bearer <admin token>`).
    metrics_listen: str = ""
    metrics_host: str = ""  # parsed from metrics_listen
    metrics_port: int = 0


@dataclass(frozen=True, slots=True)
class ModerationConfig:
    """Who may comment on the blog from the fediverse (bridge/inbox/moderation.py)."""

    blocked_domains: tuple[str, ...] = ()  # their activities get 202 and are dropped
    blocked_actors: tuple[str, ...] = ()  # actor ids, likewise
    hold_interactions: bool = False  # interactions wait for `bridge interactions approve ID`
    actor_hourly_limit: int = 20  # interactions kept per actor and hour; more are dropped
    host_hourly_limit: int = 200  # interactions kept per remote server and hour


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"


# Bridgy Fed's Bluesky bot: a fediverse account that follows it is bridged into Bluesky
# (https://fed.brid.gy/docs#fediverse-get-started).
BRIDGY_FED_BOT = "@bsky.brid.gy@bsky.brid.gy"


@dataclass(frozen=True, slots=True)
class BlueskyConfig:
    """Bluesky through Bridgy Fed (issue 21, bridge/publish/following.py): the bot that each blog
    with `bluesky = true` follows. Another handle only for tests or a private Bridgy Fed."""

    bridge_account: str = BRIDGY_FED_BOT  # "@user@host", as load.py normalises it


# Who may quote a blog's posts without asking (FEP-044f, bridge/as2/quotes.py): anyone (Mastodon's
# default), the blog's followers, or nobody.
QUOTE_POLICIES = ("public", "followers", "nobody")


@dataclass(frozen=True, slots=True)
class BlogConfig:
    name: str
    url: str
    feed: str | None = None
    poll_interval: float = 300.0
    # Overrides of what the blog's pages say about its author (the actor's profile).
    display_name: str | None = None
    bio: str | None = None
    avatar: str | None = None
    header: str | None = None
    # The fediverse account (issue 4).
    actor_type: str = "Person"
    post_style: str = "auto"
    manually_approves_followers: bool = False
    discoverable: bool = True
    indexable: bool = True
    also_known_as: tuple[str, ...] = ()  # the old accounts this one moved from
    featured: tuple[str, ...] = ()  # permalinks of the posts pinned to the profile
    show_followers: bool = True  # list the followers, or only say how many there are
    # `@name@handle_domain` answers too (the blog redirects its /.well-known/webfinger to
    # the bridge) and becomes the account's canonical handle.
    handle_domain: str | None = None
    # The blog's tag page, "{tag}" standing for the tag's slug; guessed when absent.
    tag_url: str | None = None
    # Who may quote the blog's posts without asking: "public", "followers" or "nobody" (FEP-044f).
    quote_policy: str = "public"
    # Categories or tags (compared without case) that mark a post sensitive: a content warning.
    sensitive_labels: tuple[str, ...] = ()
    # Follow Bridgy Fed's bot (`[bluesky] bridge_account`): the blog appears on Bluesky too.
    bluesky: bool = False

    def owns(self, url: str) -> bool:
        """Whether `url` is on this blog (same host and port, under its path)."""
        mine, theirs = urlsplit(self.url), urlsplit(url)
        return (mine.hostname, mine.port) == (theirs.hostname, theirs.port) and theirs.path.startswith(
            mine.path.rstrip("/") or "/"
        )


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig
    database: DatabaseConfig
    security: SecurityConfig
    queue: QueueConfig
    log: LogConfig
    blogs: tuple[BlogConfig, ...]
    path: Path
    delivery: DeliveryConfig = DeliveryConfig()
    admin: AdminConfig = AdminConfig()
    moderation: ModerationConfig = ModerationConfig()
    bluesky: BlueskyConfig = BlueskyConfig()

    def blog(self, name: str | None) -> BlogConfig:
        """The blog called `name`, or the only/first one when `name` is None."""
        if name is None:
            return self.blogs[0]
        for blog in self.blogs:
            if blog.name == name:
                return blog
        raise ConfigError("--blog", f"no blog named {name!r} (configured: {', '.join(b.name for b in self.blogs)})")


def config_path(arg: str | None) -> Path:
    """`-c PATH`, else `$BRIDGE_CONFIG`, else `./config.toml`."""
    return Path(arg or os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG_PATH)


