"""URL helpers every subsystem compares with: origin, host, fragment, "is this an http(s) URL".

Pure. "The same origin" and "on the actor's host" are security decisions (bridge/inbox/verify.py,
bridge/net/remote.py): they are made here once, the same way everywhere.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit


def without_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(fragment=""))


def origin(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) lower-cased: what "the same origin" compares."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


@lru_cache(maxsize=4096)  # a fan-out asks it of the same inboxes over and over
def host_of(url: str) -> str:
    """host[:port], lower-cased: what "on the actor's host" compares."""
    return urlsplit(url).netloc.lower()


def is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)
