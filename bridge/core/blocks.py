"""Block patterns: which fediverse actors and domains the operator refuses. Pure.

A pattern is an actor id (an http(s) URL, matched exactly) or a domain (a host name,
matched with its subdomains: blocking `spam.example` blocks `a.spam.example` too,
as Mastodon's domain blocks do).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


def block_pattern(pattern: str) -> str:
    """The pattern normalised: an actor URL as given, a domain lower-cased without a
    trailing dot. Raises ValueError (saying why) for anything else."""
    value = pattern.strip()
    if value.startswith(("http://", "https://")):
        if not urlsplit(value).hostname or any(c.isspace() for c in value):
            raise ValueError(f"not an actor URL: {pattern!r}")
        return value
    domain = value.lower().rstrip(".")
    if not _DOMAIN.match(domain):
        raise ValueError(f"not a domain or an actor URL: {pattern!r}")
    return domain


def blocked_by(actor: str, patterns: Iterable[str]) -> str | None:
    """The first pattern that blocks `actor` (an actor id), or None."""
    host = (urlsplit(actor).hostname or "").lower()
    for pattern in patterns:
        if pattern == actor:
            return pattern
        if "/" not in pattern and (host == pattern or host.endswith("." + pattern)):
            return pattern
    return None
