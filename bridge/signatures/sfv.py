"""HTTP Structured Field Values (RFC 8941), the part RFC 9421 and RFC 9530 need.

Pure: text in, Python values out, and back. Parses Dictionaries whose members
are Items or Inner Lists with Parameters (`Signature-Input`, `Signature`,
`Content-Digest`, `Accept-Signature`) and serialises Inner Lists (the
`@signature-params` line of a signature base, RFC 9421 §2.3).

Written here rather than taken from a package because it is the one piece of
RFC 8941 the signature code needs, about a hundred lines, and a signature
verifier should not depend on more parsing than it uses. The algorithms follow
RFC 8941 §4.2 step by step; anything that does not parse raises `SFError`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

Bare = int | float | str | bytes | bool


class SFError(ValueError):
    """The text is not a valid structured field of the expected type."""


class Token(str):
    """An RFC 8941 Token: a bare word such as `foo/bar`, serialised without quotes."""


@dataclass(frozen=True)
class Item:
    value: Bare
    params: dict[str, Bare] = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: dict[str, Bare] = field(default_factory=dict)


Member = Item | InnerList

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class _Parser:
    def __init__(self, text: str) -> None:
        if not text.isascii():
            raise SFError("non-ASCII characters")
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.i += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1

    def key(self) -> str:
        match = _KEY.match(self.s, self.i)
        if not match:
            raise SFError(f"expected a key at {self.i}")
        self.i = match.end()
        return match.group()

    def bare(self) -> Bare:
        c = self.peek()
        if c == "-" or c.isdigit():
            match = _NUMBER.match(self.s, self.i)
            if not match:
                raise SFError(f"bad number at {self.i}")
            self.i = match.end()
            text = match.group()
            if match.group(1):
                if len(text.split(".")[0].lstrip("-")) > 12 or len(match.group(1)) > 4:
                    raise SFError("decimal out of range")
                return float(text)
            if len(text.lstrip("-")) > 15:
                raise SFError("integer out of range")
            return int(text)
        if c == '"':
            return self.string()
        if c == ":":
            end = self.s.find(":", self.i + 1)
            if end < 0:
                raise SFError("unterminated byte sequence")
            chunk = self.s[self.i + 1:end]
            self.i = end + 1
            try:
                return base64.b64decode(chunk, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise SFError("bad base64 in byte sequence") from exc
        if c == "?":
            flag = self.s[self.i + 1:self.i + 2]
            if flag not in ("0", "1"):
                raise SFError("bad boolean")
            self.i += 2
            return flag == "1"
        match = _TOKEN.match(self.s, self.i)
        if match:
            self.i = match.end()
            return Token(match.group())
        raise SFError(f"unexpected {c!r} at {self.i}")

    def string(self) -> str:
        self.i += 1  # the opening quote
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            self.i += 1
            if c == "\\":
                nxt = self.s[self.i:self.i + 1]
                if nxt not in ('"', "\\"):
                    raise SFError("bad escape in string")
                out.append(nxt)
                self.i += 1
            elif c == '"':
                return "".join(out)
            elif not " " <= c <= "~":
                raise SFError("control character in string")
            else:
                out.append(c)
        raise SFError("unterminated string")

    def params(self) -> dict[str, Bare]:
        params: dict[str, Bare] = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_sp()
            name = self.key()
            value: Bare = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare()
            params[name] = value  # RFC 8941: a later duplicate overwrites
        return params

    def member(self) -> Member:
        if self.peek() == "(":
            self.i += 1
            items: list[Item] = []
            while True:
                self.skip_sp()
                if self.peek() == ")":
                    self.i += 1
                    return InnerList(tuple(items), self.params())
                if not self.peek():
                    raise SFError("unterminated inner list")
                items.append(Item(self.bare(), self.params()))
                if self.peek() not in (" ", ")"):
                    raise SFError(f"bad inner list at {self.i}")
        return Item(self.bare(), self.params())


def parse_dictionary(text: str) -> dict[str, Member]:
    """An RFC 8941 Dictionary, members in order. Raises SFError.

    Unlike RFC 8941 (a later duplicate key wins), a duplicate is an error here: two
    signatures with one label are ambiguous, and ambiguity in a signature is refused.
    """
    p = _Parser(text)
    out: dict[str, Member] = {}
    p.skip_sp()
    while p.peek():
        name = p.key()
        if p.peek() == "=":
            p.i += 1
            member = p.member()
        else:
            member = Item(True, p.params())
        if name in out:
            raise SFError(f"duplicate key {name!r}")
        out[name] = member
        p.skip_ows()
        if not p.peek():
            break
        if p.peek() != ",":
            raise SFError(f"expected ',' at {p.i}")
        p.i += 1
        p.skip_ows()
        if not p.peek():
            raise SFError("trailing comma")
    return out


def serialize_bare(value: Bare) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}.0"
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def serialize_params(params: dict[str, Bare]) -> str:
    return "".join(f";{k}" if v is True else f";{k}={serialize_bare(v)}" for k, v in params.items())


def serialize_item(item: Item) -> str:
    return serialize_bare(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    return "(" + " ".join(serialize_item(i) for i in inner.items) + ")" + serialize_params(inner.params)
