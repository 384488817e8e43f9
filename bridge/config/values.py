"""Reading one TOML value: its type checked, a `ConfigError` naming its key when wrong.

The small checks that bridge/config/load.py and bridge/config/account.py share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from bridge.config.settings import ConfigError

_T = TypeVar("_T")
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", dict: "a table",
               list: "an array"}


def section(data: Mapping[str, Any], name: str, *, required: bool = False) -> Mapping[str, Any]:
    if name not in data:
        if required:
            raise ConfigError(name, f"missing: add a [{name}] table")
        return {}
    value = data[name]
    if not isinstance(value, dict):
        raise ConfigError(name, f"must be a table ([{name}]), got {toml_type(value)}")
    return value


def get_value(table: Mapping[str, Any], key: str, kind: type[_T], default: Any = None, *, required: bool = False) -> _T:
    name = key.rsplit(".", 1)[-1]
    if name not in table:
        if required:
            raise ConfigError(key, "missing")
        return default
    value = table[name]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise ConfigError(key, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {toml_type(value)}")
    return value  # type: ignore[no-any-return]


def only_keys(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    for name in table:
        if name not in allowed:
            key = f"{where}.{name}" if where else name
            raise ConfigError(key, f"unknown key (known here: {', '.join(sorted(allowed))})")


def http_url(key: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ConfigError(key, "not an absolute http(s) URL")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(key, "not an absolute http(s) URL (bad port)") from None
    return value


def positive(key: str, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(key, "must be greater than 0 (and finite)")
    return value


def toml_type(value: object) -> str:
    checks: list[tuple[type, str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
    ]
    for kind, name in checks:
        if isinstance(value, kind):
            return name
    return type(value).__name__
