"""Text that must not get in: characters that hide or fake what a URL says, and strings
JSON can carry but UTF-8 (and so PostgreSQL, logs and HTML) cannot.

A pure helper of every door (the inbox, the ping, signatures, headers, the config). Ids and actors
are compared, stored, logged and shown: an id with a right-to-left override, a
zero-width space, a newline or a NUL is refused rather than cleaned (cleaning would
make it another id), and an activity whose JSON has a lone surrogate escape
(`"\\ud800"`) is refused because it is not text: PostgreSQL's json type rejects it (it
was a 500 there) and no UTF-8 log line or page can carry it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# Control, format (bidi overrides and isolates, zero-width, BOM), separators, surrogates.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs"})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")


def ascii_digits(text: str) -> bool:
    """Whether `text` is a number as protocols write one: ASCII digits only. `str.isdigit`
    also takes `²` and `١`, which `int()` refuses or reads as another number."""
    return text.isascii() and text.isdigit()


def unsafe_char(text: str) -> str | None:
    """The first character of `text` that has no place in a URL we store, as U+XXXX; None if clean."""
    for char in text:
        if unicodedata.category(char) in _BAD_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def has_nul(body: bytes, parsed: Any) -> bool:
    """Whether the JSON `body` (already `parsed`) holds a NUL character in a key or string
    (PostgreSQL stores none in text or jsonb). Only bodies with the escape are walked."""
    return b"\\u0000" in body and _holds_nul(parsed)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def has_lone_surrogate(body: bytes, parsed: Any) -> bool:
    """Whether the JSON `body` (already `parsed`) holds a surrogate that is not half of a pair.

    Only bodies with a surrogate escape are checked in full: the common case costs a scan."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
