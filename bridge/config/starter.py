"""The config `bridge init` writes for a new install: complete and commented, from what
reading the blog found (issue 21).

Pure: a `Starter` (the answers and the findings) in, TOML text out, and the small
decisions behind it: the account's handle from the blog's host or title, whether a host is
on this machine or a private network, where the daemon listens. The minimal
`load.starter_config` stays for its callers. Only keys whose value differs from the default,
or that the operator must see, are written: the rest keep config.example.toml's defaults,
so a later release's better default reaches this install too (an old copy of the example
once pinned `queue.concurrency = 8`).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from bridge.config.settings import ConfigError
from bridge.config.values import http_url
from bridge.core.urls import BLOG_NAME

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
PLACEHOLDER_BLOG_URL = "https://blog.example/"
DEFAULT_LISTEN = "127.0.0.1:8080"  # behind a TLS proxy, on loopback (docs/deployment.md)
MAX_HANDLE = 30  # Mastodon's username limit (app/validators/unreserved_username_validator.rb)
# Host labels that say nothing about whose blog it is: blog.maya.example is maya's.
_GENERIC_LABELS = frozenset({"www", "blog", "blogs", "m", "home", "web"})
# Names that never leave this machine or the local network (RFC 6761 localhost, RFC 6762
# .local for mDNS, RFC 8375 home.arpa; .lan and .internal by common use).
_LOCAL_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal")
_NOT_HANDLE = re.compile(r"[^a-z0-9_]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

THIS_MACHINE = "this machine"
PRIVATE_NETWORK = "a private network"


@dataclass(frozen=True, slots=True)
class Starter:
    """What a new config holds: the operator's answers and what reading the blog found."""

    base_url: str
    blog_name: str
    blog_url: str
    admin_token: str
    listen: str = DEFAULT_LISTEN
    feed: str | None = None
    feed_kind: str | None = None  # "rss", "atom", "json", "h-feed"
    site_name: str | None = None
    author_name: str | None = None
    # Why private addresses are allowed ("the blog (http://127.0.0.1:8765/) is on this
    # machine"); None for a public setup.
    private_reason: str | None = None
    direct: bool = False  # the daemon answers on the base URL itself (a local http one): its port
    read: bool = False  # whether the blog was read (else its URL is as given, unchecked)


# -- the small decisions -------------------------------------------------------------------


def address_locality(address: str) -> str | None:
    """THIS_MACHINE, PRIVATE_NETWORK, or None for a public (or not an IP) address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return THIS_MACHINE
    if ip.is_private or ip.is_link_local:  # 10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10…
        return PRIVATE_NETWORK
    return None


def host_locality(host: str) -> str | None:
    """Where a host is by its name alone: THIS_MACHINE, PRIVATE_NETWORK, or None (public,
    or a name whose addresses must be looked up to tell)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return THIS_MACHINE
    if host.endswith(_LOCAL_SUFFIXES):
        return PRIVATE_NETWORK
    return address_locality(host)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def listen_for(base_url: str, locality: str | None) -> str:
    """Where the daemon binds. A local http base URL is served directly on its own port: on
    loopback for this machine, on every interface for a private network (other machines
    must reach it). A public one, or any https one (the daemon speaks plain HTTP), sits
    behind a TLS proxy, which forwards to loopback."""
    parts = urlsplit(base_url)
    if not served_directly(base_url, locality):
        return DEFAULT_LISTEN
    port = parts.port or 80
    if locality == PRIVATE_NETWORK:
        return f"0.0.0.0:{port}"
    return f"[::1]:{port}" if (parts.hostname or "") == "::1" else f"127.0.0.1:{port}"


def served_directly(base_url: str, locality: str | None) -> bool:
    """Whether the daemon itself answers on the base URL (a local http one), not a proxy."""
    return locality is not None and urlsplit(base_url).scheme == "http"


def slug(text: str) -> str:
    """A handle made of `text`: ASCII lower-case letters, digits and '_' ("Binge Learner"
    → "bingelearner", as a host's "myblog" reads), at most MAX_HANDLE long; "" if none."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = [w for w in _NOT_HANDLE.split(ascii_text.replace("'", "")) if w]
    handle = "".join(words)[:MAX_HANDLE].strip("_")
    return handle if BLOG_NAME.fullmatch(handle) else ""


def handle_from(blog_url: str, title: str | None) -> tuple[str, str]:
    """The account's name and where it came from ("the blog's host", "the blog's title",
    "a default"): the host's telling label (myblog.example → myblog, blog.maya.example → maya,
    www.myblog.example → myblog), else the title for a blog on an address or localhost."""
    host = (urlsplit(blog_url).hostname or "").rstrip(".").lower()
    labels = host.split(".")
    if not is_ip(host) and host_locality(host) != THIS_MACHINE and len(labels) > 1:
        labels = labels[:-1]  # the top-level domain (or .local) says nothing
        telling = [label for label in labels if label not in _GENERIC_LABELS] or labels
        name = slug(telling[0]) if not telling[0].startswith("xn--") else ""
        if name:
            return name, "the blog's host"
    if title and (name := slug(title)):
        return name, "the blog's title"
    return "blog", "a default"


def normalise_url(text: str, key: str, *, origin: bool = False) -> str:
    """An operator's answer as an absolute URL: a scheme added when missing (http for a
    local host, else https); a home page ends with "/"; an origin has no path. Raises
    ConfigError naming `key` (the flag or the question)."""
    text = text.strip()
    if text and "://" not in text:
        host = urlsplit("//" + text).hostname or ""
        text = ("http://" if host_locality(host) else "https://") + text
    parts = urlsplit(text)
    http_url(key, text)
    if origin:
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError(key, "must be an origin (scheme, host, optional port), without a path")
        return text.rstrip("/")
    return text if parts.path else text + "/"


# -- the text ------------------------------------------------------------------------------


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped (TOML 1.0
    §String: U+0000–U+001F and U+007F must be), so a blog's title cannot break the file."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def comment_text(value: str, limit: int = 80) -> str:
    """Text safe inside a `#` comment: one line, no control or bidi characters, short."""
    one_line = " ".join(_CONTROL.sub(" ", value).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def render(s: Starter) -> str:
    """The whole file."""
    host = urlsplit(s.base_url).netloc
    return "".join([_head(s), _server(s, host), _database(), _security(s), _blog(s, host), _rest()])


def _head(s: Starter) -> str:
    found = f"read from {s.blog_url}" if s.read else "the blog not read: check blogs[0].url"
    return f"""\
# Bridge configuration, written by `bridge init` ({comment_text(found)}).
# Every key, with its default and what it does, is in config.example.toml (at the top of
# the bridge's source tree); keys not written here keep those defaults. `bridge check`
# tests this file against the live blog.
#
# Keep this file private: it holds the dashboard's admin token (init made it mode 600).

"""


def _server(s: Starter, host: str) -> str:
    if s.direct:
        where = "on every interface, for the network's other machines" if s.listen.startswith("0.0.0.0:") \
            else "on this machine only"
        listen_why = (f"# Where the daemon binds: the base URL's own port, {where}, served directly\n"
                      "# (no proxy). In production: 127.0.0.1:8080 behind a TLS proxy (docs/deployment.md).")
    else:
        listen_why = ("# Where the daemon binds: on loopback, behind the TLS reverse proxy that serves\n"
                      "# base_url (docs/deployment.md).")
    return f"""\
[server]
# The public origin the fediverse sees: {host}. It is part of every actor id, so choose
# it once: changing it later loses the followers. In production: https, behind a TLS proxy.
base_url = {toml_string(s.base_url)}
{listen_why}
listen = {toml_string(s.listen)}
# The dashboard's login, at {comment_text(s.base_url)}/admin. Made by `bridge init` and shown once;
# BRIDGE_ADMIN_TOKEN in the environment wins over it. Empty turns the dashboard off.
admin_token = {toml_string(s.admin_token)}

"""


def _database() -> str:
    return """\
[database]
# SQLite, in bridge.db beside this file: one bridge process. For several processes,
# postgres://USER:PASSWORD@HOST:5432/DBNAME (or BRIDGE_DATABASE_URL in the environment).
url = "sqlite://bridge.db"

"""


def _security(s: Starter) -> str:
    if s.private_reason is None:
        return """\
[security]
# Whether the bridge may fetch http:// and private or loopback addresses: never in
# production, where every URL it fetches comes from strangers.
allow_private_addresses = false

"""
    return f"""\
[security]
# true because {comment_text(s.private_reason, 120)}:
# the bridge may then fetch loopback and private-network addresses, which a public bridge
# must refuse (every URL it fetches comes from strangers). In production: false, with a
# public https base_url and blog.
allow_private_addresses = true

"""


def _blog(s: Starter, host: str) -> str:
    lines = ["# One [[blogs]] table per blog."]
    if s.read:
        who = comment_text(s.site_name or s.author_name or s.blog_url)
        by = f", by {comment_text(s.author_name)}" if s.author_name and s.author_name != s.site_name else ""
        lines.append(f"# {who}{by}: read by `bridge init`.")
    lines += [
        "[[blogs]]",
        f"# The handle: @{s.blog_name}@{host}. Lower-case letters, digits, '_', and '.' or '-' inside.",
        "# Like base_url, it is part of the account's id: choose it once.",
        f"name = {toml_string(s.blog_name)}",
        "# The blog's home page: its h-card (name, avatar, bio) and its feed are read from it.",
        f"url = {toml_string(s.blog_url)}",
    ]
    if s.feed:
        kind = f" ({comment_text(s.feed_kind, 20)})" if s.feed_kind else ""
        lines += [f"# The feed polled for new posts{kind}, found on the home page.",
                  f"feed = {toml_string(s.feed)}"]
    else:
        why = "none was found on the home page" if s.read else "the blog was not read"
        lines += [f"# The feed to poll: found on the home page at each poll ({why}). Or set it:",
                  "# feed = \"https://blog.example/feed/\""]
    example = comment_text(s.author_name or s.site_name or "Maya Okonkwo")
    lines += [
        "# Seconds between polls of the feed.",
        "# poll_interval = 300.0",
        "# The fediverse profile is read from the blog; these override it:",
        f"# display_name = {toml_string(example)}",
        "# bio = \"…\"",
        "# avatar = \"https://blog.example/avatar.png\"",
        "# true: each new follower waits for `bridge followers approve`.",
        "# manually_approves_followers = false",
        "# More keys for the account (post_style, handle_domain, quote_policy…): config.example.toml.",
        "",
    ]
    return "\n".join(lines) + "\n"


def _rest() -> str:
    return """\
# [queue], [delivery], [admin], [moderation] and [log] keep their defaults, which suit a
# blog with 10,000 followers or more; config.example.toml explains each key.
"""
