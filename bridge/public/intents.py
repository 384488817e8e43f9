"""Remote interaction: from a reader's account to the page on their own server where they
follow one of our blogs or answer one of its posts.

Pure: what the reader typed, a WebFinger JRD and our URI in; the URL to send the browser to
out. The network part and the page are bridge/public/interact.py.

Two kinds of link in a JRD (RFC 7033) carry an interaction template:
- OStatus's `http://ostatus.org/schema/1.0/subscribe`, which Mastodon, Misskey, Pleroma and
  GoToSocial still serve for every account: `https://their.server/authorize_interaction?uri={uri}`;
- FEP-3b86 Activity Intents (`https://w3id.org/fep/3b86/Follow`, `…/Object`, `…/Create`),
  preferred when present (the FEP's section 7.2): `{object}` is the actor to follow or the
  post to open, `{inReplyTo}` the post a Create answers.
A template is an RFC 6570 URI Template; only level 1 (`{name}`) is filled, every value
percent-encoded (FEP-3b86 section 3.3), and a variable we do not know becomes "" (its
section 3.2). A template is used only when it carries our URI (the variable for it is in it)
and its expansion is an absolute http(s) URL: the browser is never sent anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from bridge.public.webfinger import SUBSCRIBE_REL

FEP_3B86 = "https://w3id.org/fep/3b86/"
FOLLOW_REL = f"{FEP_3B86}Follow"
OBJECT_REL = f"{FEP_3B86}Object"
CREATE_REL = f"{FEP_3B86}Create"
JRD_ACCEPT = "application/jrd+json, application/json;q=0.9"
MAX_ACCOUNT = 320  # characters of what a reader may type (a long handle is ~100)
MAX_URL = 2000  # characters of a redirect: what every browser and proxy passes

FOLLOW = "follow"  # what the reader means to do with our URI: follow an actor…
OBJECT = "object"  # …or open a post on their server (reply, boost, like)

# In order of preference, per kind: (rel, the variables that carry our URI). A Create intent
# without `{inReplyTo}` would start a post that answers nothing: it is not used. An Object
# intent opens the account on the reader's server, where they can follow it: the last resort.
_CHOICES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    FOLLOW: ((FOLLOW_REL, ("object", "uri")), (SUBSCRIBE_REL, ("uri",)), (OBJECT_REL, ("object", "uri"))),
    OBJECT: ((OBJECT_REL, ("object", "uri")), (CREATE_REL, ("inReplyTo",)), (SUBSCRIBE_REL, ("uri",))),
}
_EXPRESSION = re.compile(r"\{([^{}]*)\}")
# A user part as servers write them (Mastodon's is narrower; Misskey and Pleroma allow more):
# anything but separators and spaces.
_USER = re.compile(r"[^\s/?#@:\\]{1,100}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_IPV6 = re.compile(r"(\[[0-9a-fA-F:.]+\])(?::([0-9]*))?")


class BadAccount(Exception):
    """What the reader typed is neither a handle nor a server; `reason` says why, for them."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reader:
    """Whom a reader said they are: an account (`user@host`) or only a server (`user` None).
    `host` is lower-case ASCII with its port if any; `scheme` is the one they typed, if any."""

    host: str
    user: str | None = None
    scheme: str | None = None

    @property
    def hostname(self) -> str:
        return self.host.rsplit(":", 1)[0] if not self.host.endswith("]") else self.host

    @property
    def handle(self) -> str | None:
        return f"{self.user}@{self.host}" if self.user else None

    def resource(self) -> str:
        """The WebFinger resource to ask for: the account, or the server's own instance
        account (Mastodon and GoToSocial name it after the domain: `acct:host@host`)."""
        return f"acct:{self.user or self.hostname}@{self.host}"


def _host(text: str) -> str:
    """`text` as a host[:port] we may ask, lower-case ASCII (IDNA for a non-ASCII name)."""
    name, port = text, ""
    if text.startswith("["):  # an IPv6 literal: [::1], [::1]:8080
        literal = _IPV6.fullmatch(text)
        if literal is None:
            raise BadAccount(f"{text!r} is not a server name")
        name, port = literal.group(1).lower(), literal.group(2) or ""
    elif ":" in text:
        name, port = text.rsplit(":", 1)
    if port and (not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536):
        raise BadAccount(f"{text!r} is not a server name")
    if not name.startswith("["):
        try:
            name = name.rstrip(".").encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise BadAccount(f"{text!r} is not a server name") from None
        labels = name.split(".")
        if not name or not all(_LABEL.fullmatch(label) for label in labels):
            raise BadAccount(f"{text!r} is not a server name")
    return f"{name}:{port}" if port else name


def parse_account(text: str) -> Reader:
    """What a reader typed: `@me@their.server`, `me@their.server`, `acct:me@their.server`,
    `their.server`, `https://their.server` or their profile link `https://their.server/@me`.
    Raises BadAccount."""
    text = text.strip()
    if not text:
        raise BadAccount("type your handle (@you@your.server) or your server (your.server)")
    if len(text) > MAX_ACCOUNT or any(c.isspace() or not c.isprintable() for c in text):
        raise BadAccount("that is not a handle (@you@your.server) or a server (your.server)")
    if "://" in text:
        try:
            parts = urlsplit(text)
        except ValueError:  # a malformed IPv6 literal
            raise BadAccount("that is not the address of a server") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
                or "@" in parts.netloc:
            raise BadAccount("only an http(s) address of a server will do, like https://your.server")
        scheme, host, path = parts.scheme.lower(), parts.netloc, parts.path.rstrip("/")
        if not path:
            return Reader(_host(host), None, scheme)
        user = path.removeprefix("/@")
        if path.startswith("/@") and _USER.fullmatch(user):  # a profile link, as Mastodon writes it
            return Reader(_host(host), user, scheme)
        raise BadAccount("give your server's address without a path, or your handle (@you@your.server)")
    if text.lower().startswith("acct:"):
        text = text[5:]
    user, at, host = text.removeprefix("@").rpartition("@")
    if not at:
        return Reader(_host(text.rstrip("/")))
    if not _USER.fullmatch(user) or not host:
        raise BadAccount(f"{text!r} is not a handle like @you@your.server")
    return Reader(_host(host), user)


def webfinger_url(scheme: str, reader: Reader) -> str:
    return f"{scheme}://{reader.host}/.well-known/webfinger?" + urlencode({"resource": reader.resource()})


def nodeinfo_url(scheme: str, reader: Reader) -> str:
    return f"{scheme}://{reader.host}/.well-known/nodeinfo"


def fallback_templates(scheme: str, reader: Reader) -> dict[str, str]:
    """Mastodon's remote-interaction page, for a server known only by its name.

    Mastodon's instance account (the one `acct:host@host` finds) carries no subscribe link
    (its WebfingerSerializer gives one to users only), and a reader who types only their
    server has no account we could ask about; but every Mastodon serves
    `/authorize_interaction?uri=`, and most of the fediverse runs Mastodon. Used only once the
    server showed it is a fediverse server (a JRD or NodeInfo answered): a name typed into our
    form never makes us send a browser to a site that said nothing."""
    return {SUBSCRIBE_REL: f"{scheme}://{reader.host}/authorize_interaction?uri={{uri}}"}


def templates_of(jrd: Any) -> dict[str, str]:
    """The interaction templates of a JRD, by rel (the first of each rel): nothing for
    anything that is not a JRD."""
    found: dict[str, str] = {}
    links = jrd.get("links") if isinstance(jrd, dict) else None
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict):
            continue
        rel, template = link.get("rel"), link.get("template")
        if isinstance(rel, str) and isinstance(template, str) and (rel == SUBSCRIBE_REL or rel.startswith(FEP_3B86)):
            found.setdefault(rel, template)
    return found


def is_nodeinfo(document: Any) -> bool:
    """Whether `/.well-known/nodeinfo` answered as a fediverse server's does (a `links` list)."""
    links = document.get("links") if isinstance(document, dict) else None
    return isinstance(links, list) and any(isinstance(link, dict) and "nodeinfo" in str(link.get("rel", ""))
                                           for link in links)


def expand(template: str, values: Mapping[str, str]) -> str:
    """RFC 6570 level 1: each `{name}` replaced by its value, percent-encoded; unknown names
    and other expressions by nothing (FEP-3b86 section 3.2)."""
    return _EXPRESSION.sub(lambda m: quote(values.get(m.group(1), ""), safe=""), template)


def is_safe_redirect(url: str) -> bool:
    """An absolute http(s) URL with a host, printable ASCII only (no header injection, no
    backslash for a browser to read as a slash), short enough for every browser."""
    if len(url) > MAX_URL or not url.isascii() or any(c <= " " or c in "\\\x7f" for c in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed IPv6 literal or port
        return False


def interaction_url(templates: Mapping[str, str], kind: str, uri: str) -> tuple[str, str] | None:
    """(rel, the URL to send the reader to) from the best template that carries `uri`, or None."""
    for rel, carriers in _CHOICES[kind]:
        template = templates.get(rel)
        if template is None:
            continue
        names = set(_EXPRESSION.findall(template))
        if not names & set(carriers):
            continue  # it would not carry our URI
        url = expand(template, dict.fromkeys(carriers, uri))
        if template.lower().startswith(("http://", "https://")) and is_safe_redirect(url):
            return rel, url
    return None
