"""RFC 8785, the JSON Canonicalization Scheme (JCS): one exact byte string for a JSON value.

Object Integrity Proofs (`eddsa-jcs-2022`, bridge/signatures/proofs.py) hash these bytes, so
signer and verifier must agree on every byte: key order, escapes, and numbers as ECMAScript
prints them. Python's `json.dumps(sort_keys=True)` is not that (it sorts by code point, not by
UTF-16 code unit, prints `1e+16` as `1e16`, and lets NaN through). Written here rather than
taken from a package: no maintained Python package does RFC 8785 with the cryptography-only
dependency this pure package allows, and it is short.

The rules, with their sections:
- objects: members sorted by their names as arrays of UTF-16 code units (§3.2.3);
- strings: JSON.stringify's escapes: `\\"`, `\\\\`, `\\b \\f \\n \\r \\t`, other controls as
  `\\u00xx` in lowercase hex, everything else as itself in UTF-8 (§3.2.2.2); lone surrogates
  are refused, since I-JSON (RFC 7493 §2.1) forbids them (§3.1);
- numbers: IEEE 754 doubles printed as ECMAScript's Number.prototype.toString (§3.2.2.3):
  shortest round-trip digits, plain notation for exponents in [-6, 21), `e+N`/`e-N` outside,
  -0 as `0`; NaN and Infinity are not JSON (ValueError);
- no whitespace anywhere (§3.2.1).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

__all__ = ["canonical"]

# ECMAScript integers print exactly up to 2**53; beyond it a JSON peer holds the nearest double.
_EXACT_INT = 2**53

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')


def canonical(value: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dicts, lists, str, int, float,
    bool, None). TypeError for anything that is not JSON (a set, bytes, a non-string key),
    ValueError for what JSON cannot hold (NaN, Infinity, a lone surrogate)."""
    parts: list[str] = []
    try:
        _write(value, parts)
    except RecursionError:
        raise ValueError("JSON value nested too deeply to canonicalize") from None
    return "".join(parts).encode("utf-8")


def _write(value: object, parts: list[str]) -> None:
    # bool before int: True is an int in Python, a literal in JSON.
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int):
        parts.append(_integer(value))
    elif isinstance(value, float):
        parts.append(_number(value))
    elif isinstance(value, Mapping):
        _write_object(value, parts)
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray, memoryview)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _write_object(value: Mapping[object, object], parts: list[str]) -> None:
    names: list[str] = []
    for name in value:
        if not isinstance(name, str):
            raise TypeError(f"JSON object member names are strings, not {type(name).__name__}")
        names.append(name)
    # UTF-16 big-endian bytes compare exactly as their code units do (§3.2.3). A lone
    # surrogate cannot be encoded: checked first, so the error is ours, not the codec's.
    for name in names:
        _check_surrogates(name)
    names.sort(key=lambda name: name.encode("utf-16-be"))
    parts.append("{")
    for index, name in enumerate(names):
        if index:
            parts.append(",")
        parts.append(_string(name))
        parts.append(":")
        _write(value[name], parts)
    parts.append("}")


def _check_surrogates(text: str) -> None:
    for char in text:
        if "\ud800" <= char <= "\udfff":
            raise ValueError(f"lone surrogate U+{ord(char):04X} in a JSON string (RFC 7493 §2.1)")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if "\ud800" <= char <= "\udfff":
        raise ValueError(f"lone surrogate U+{ord(char):04X} in a JSON string (RFC 7493 §2.1)")
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _string(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _integer(value: int) -> str:
    if -_EXACT_INT <= value <= _EXACT_INT:
        return str(value)
    try:
        return _number(float(value))
    except OverflowError:
        raise ValueError(f"integer too large for an IEEE 754 double: {value}") from None


def _number(value: float) -> str:
    """ECMAScript's Number.prototype.toString of a finite double (ECMA-262 Number::toString).

    Python's repr already gives the shortest digits that round-trip, ties to the nearest,
    which is what ECMA-262 asks for; only the notation differs, so it is rebuilt here from
    those digits `d` and the exponent `n` such that value = 0.d × 10**n.
    """
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{value} is not a JSON number (RFC 8785 §3.2.2.3)")
    if value == 0:
        return "0"  # -0 too
    sign = "-" if value < 0 else ""
    _sign, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len("".join(map(str, digit_tuple))) - len(digits)
    k = len(digits)
    n = k + exponent
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text
