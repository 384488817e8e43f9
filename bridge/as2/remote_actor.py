"""Remote actor and key documents (AS2 JSON) → what the bridge keeps of them.

Pure: dicts in, dataclasses out (the raw AS2 stays here and in the cache row's
`data`). A key is found by its id either in an actor's `publicKey` (an object or a
list, as Mastodon and others serve it) or as a key document of its own with an
`owner` (security vocabulary v1) or `controller` (FEP-521a/Multikey style).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bridge.as2.vocab import AP_CONTENT_TYPES
from bridge.core.links import host_of, is_http_url

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


class BadDocument(ValueError):
    """The document is not what was asked for; the message says how."""


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    key_id: str
    owner: str
    pem: str


@dataclass(frozen=True, slots=True)
class ActorInfo:
    uri: str
    host: str
    inbox: str | None
    shared_inbox: str | None
    handle: str | None
    name: str | None
    icon_url: str | None
    profile_url: str | None
    keys: tuple[PublicKeyInfo, ...]


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """A signer's public key and its owner. `actor`/`document` are set when it was just
    fetched and not stored yet: the caller stores it only if it accepts the request."""

    key_id: str
    owner: str
    pem: str
    actor: ActorInfo | None = None
    document: Mapping[str, Any] | None = None
    # (host, scheme) pairs learned while fetching: which signature scheme each host accepted.
    schemes: tuple[tuple[str, str], ...] = ()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _url(value: object) -> str | None:
    """An `icon`/`url` value: a string, a Link or Image object, or a list of them."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping):
        value = value.get("href") if "href" in value else value.get("url")
        if isinstance(value, (list, Mapping)):
            return _url(value)
    return value if isinstance(value, str) and is_http_url(value) else None


def keys_in(doc: Mapping[str, Any]) -> tuple[PublicKeyInfo, ...]:
    """The PEM keys an actor document lists in `publicKey`."""
    raw = doc.get("publicKey")
    entries = raw if isinstance(raw, list) else [raw]
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        key_id, pem = entry.get("id"), entry.get("publicKeyPem")
        owner = entry.get("owner", entry.get("controller", doc.get("id")))
        if isinstance(key_id, str) and isinstance(pem, str) and isinstance(owner, str):
            out.append(PublicKeyInfo(key_id, owner, pem))
    return tuple(out)


def key_document(doc: Mapping[str, Any]) -> PublicKeyInfo | None:
    """The document itself as a key (`CryptographicKey`, or anything with a PEM and an owner)."""
    key_id, pem = doc.get("id"), doc.get("publicKeyPem")
    owner = doc.get("owner", doc.get("controller"))
    if isinstance(key_id, str) and isinstance(pem, str) and is_http_url(owner):
        return PublicKeyInfo(key_id, str(owner), pem)
    return None


@dataclass(frozen=True, slots=True)
class MultikeyInfo:
    """An Ed25519 key an actor lists for its integrity proofs (FEP-521a, `assertionMethod`)."""

    key_id: str
    controller: str
    multibase: str  # publicKeyMultibase


def multikeys_in(doc: Mapping[str, Any]) -> tuple[MultikeyInfo, ...]:
    """The Multikeys a document lists in `assertionMethod`, or the document itself if it is one;
    by id only (a reference) they are not listed: the key must be in the controller's document."""
    raw = doc.get("assertionMethod") if doc.get("type") != "Multikey" else doc
    out = []
    for entry in raw if isinstance(raw, list) else [raw]:
        if not isinstance(entry, Mapping) or entry.get("type") != "Multikey":
            continue
        key_id, controller, value = entry.get("id"), entry.get("controller", doc.get("id")), entry.get("publicKeyMultibase")
        if isinstance(key_id, str) and is_http_url(controller) and isinstance(value, str):
            out.append(MultikeyInfo(key_id, str(controller), value))
    return tuple(out)


def is_actor(doc: Mapping[str, Any]) -> bool:
    kind = doc.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    # isinstance: a `type` of {} or [[]] must not raise (it did: a TypeError, a 500 at the inbox)
    return any(isinstance(k, str) and k in ACTOR_TYPES for k in kinds) or ("inbox" in doc and "publicKey" in doc)


def actor_from_as2(doc: Mapping[str, Any]) -> ActorInfo:
    """What the bridge keeps of an actor document. Raises BadDocument."""
    uri = doc.get("id")
    if not is_http_url(uri):
        raise BadDocument("the actor has no http(s) id")
    assert isinstance(uri, str)
    if not is_actor(doc):
        raise BadDocument(f"{uri} is a {doc.get('type')!r}, not an actor")
    inbox = doc.get("inbox")
    endpoints = doc.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, Mapping) else None
    username = _text(doc.get("preferredUsername"))
    host = host_of(uri)
    keys = keys_in(doc)
    for key in keys:
        # A key listed by an actor but owned by someone else does not speak for this actor.
        if key.owner != uri:
            raise BadDocument(f"key {key.key_id} is owned by {key.owner}, not by {uri}")
    return ActorInfo(
        uri=uri,
        host=host,
        inbox=inbox if is_http_url(inbox) else None,
        shared_inbox=shared if is_http_url(shared) else None,
        handle=f"{username}@{urlsplit(uri).hostname}" if username else None,
        name=_text(doc.get("name")),
        icon_url=_url(doc.get("icon")),
        profile_url=_url(doc.get("url")),
        keys=keys,
    )


def actor_link(body: bytes) -> str | None:
    """The actor id a WebFinger JRD names (its `self` link of an ActivityStreams type), or None."""
    try:
        jrd = json.loads(body)
    except (ValueError, RecursionError):
        return None
    links = jrd.get("links") if isinstance(jrd, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "self" and is_http_url(link.get("href")) \
                and str(link.get("type", "")).split(";")[0].strip() in AP_CONTENT_TYPES:
            return str(link["href"])
    return None
