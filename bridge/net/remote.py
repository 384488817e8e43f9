"""Remote actors and their keys: fetched with a signed GET, checked, cached in `RemoteActor`.

Fetching follows what Mastodon (app/helpers/jsonld_helper.rb `fetch_resource`) and
Fedify (sig/key.ts, sig/owner.ts) require of a document before trusting it:
- a GET signed as the instance actor (servers in authorized-fetch mode refuse others),
  `Accept: application/activity+json, application/ld+json; profile=…`;
- an ActivityStreams content type in the answer;
- its `id` equal to the URL asked for, or to the URL a redirect led to on the same
  origin: a document cannot speak for another URL, and a redirect cannot carry it
  to another origin;
- at most `max_bytes` (1 MB; an actor is a few kB) within `timeout` seconds;
- a key document (`owner`/`controller`) only counts when its owner's actor document
  lists that key.
Key lookups for the inbox do not write: the caller stores a freshly fetched actor
(`remember`) in the transaction that accepts the request, so a refused request
changes nothing. An actor that answers 410 is gone (`gone_at`) and no longer follows any
blog (`forget_actor`). A mention's link may be a profile page: `find_actor` resolves it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from tortoise.transactions import in_transaction

from bridge.as2.remote_actor import (
    ActorInfo,
    BadDocument,
    MultikeyInfo,
    ResolvedKey,
    actor_from_as2,
    actor_link,
    is_actor,
    key_document,
    multikeys_in,
)
from bridge.as2.vocab import AP_ACCEPT, AP_CONTENT_TYPES
from bridge.core.clock import Clock, utcnow
from bridge.core.links import host_of, is_http_url, origin, without_fragment
from bridge.db import delete_counted
from bridge.jobs.retry import PermanentError
from bridge.keys import INSTANCE_ACTOR, signing_key
from bridge.models import Follower, RemoteActor
from bridge.net.fetch import AddressRefused, FetchError, HTTPStatusError, fetch
from bridge.net.signed import remember_scheme, signed_fetch
from bridge.signatures import Reason, Rejection, Scheme

log = logging.getLogger("bridge.remote")

MAX_DOCUMENT_BYTES = 1024 * 1024
FETCH_TIMEOUT = 10.0
REFRESH_AFTER = timedelta(days=1)
JRD_ACCEPT = "application/jrd+json, application/json;q=0.9"



class DocumentRefused(FetchError):
    """The answer is not a document we may trust for that URL (type, id, JSON)."""


class OtherId(DocumentRefused):
    """The document's `id` names another URL (`named`): a page about an actor, not the actor."""

    def __init__(self, url: str, named: object) -> None:
        super().__init__(url, f"its id {named!r} is not the URL asked for")
        self.named = named


class ActorGone(FetchError):
    """The actor answered 410 Gone."""


class RemoteActors:
    """Fetch, check and cache remote actors and keys, through the app's one guarded session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        timeout: float = FETCH_TIMEOUT,
        refresh_after: timedelta = REFRESH_AFTER,
        clock: Clock = utcnow,
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.refresh_after = refresh_after
        self.clock = clock

    async def fetch_document(self, url: str, *, learned: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """GET an AS2 document, signed as the instance actor, and check it. Raises FetchError.

        The signature scheme the host accepted is remembered at once, or, with `learned`,
        appended there for the caller to remember later."""
        asked = without_fragment(url)
        key = await signing_key(self.base_url, INSTANCE_ACTOR)
        fetched = await signed_fetch(self.session, asked, key, accept=AP_ACCEPT, max_bytes=self.max_bytes,
                                     timeout=self.timeout, clock=self.clock)
        if learned is None:
            await remember_scheme(fetched.host, fetched.scheme)
        else:
            learned.append((fetched.host, fetched.scheme.value))
        result = fetched.result
        if origin(result.url) != origin(asked):
            raise DocumentRefused(url, f"redirected to another origin ({result.url})")
        if result.content_type not in AP_CONTENT_TYPES:
            raise DocumentRefused(url, f"content type {result.content_type or 'none'!r} is not ActivityStreams")
        try:
            doc = json.loads(result.body)
        except (ValueError, RecursionError) as exc:
            raise DocumentRefused(url, f"not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise DocumentRefused(url, "not a JSON object")
        if doc.get("id") not in (asked, result.url):
            raise OtherId(url, doc.get("id"))
        return doc

    # -- keys, for verifying signatures (no writes) ------------------------------------

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | Rejection:
        """The key `key_id` names and its owner, from the cache unless `refresh`."""

        def fail(reason: Reason, message: str) -> Rejection:
            return Rejection(reason, message, key_id)

        if not is_http_url(key_id):
            return fail(Reason.UNKNOWN_KEY, "the keyId is not an http(s) URL")
        if not refresh:
            cached = await RemoteActor.filter(key_id=key_id, gone_at=None).first()
            if cached is not None and cached.public_key_pem:
                return ResolvedKey(key_id, cached.uri, cached.public_key_pem)
        learned: list[tuple[str, str]] = []  # remembered with the actor, if the request is accepted
        try:
            doc = await self.fetch_document(key_id, learned=learned)
            if is_actor(doc):
                actor = actor_from_as2(doc)
                found = next((k for k in actor.keys if k.key_id == key_id), None)
                if found is None:
                    return fail(Reason.UNKNOWN_KEY, f"the actor {actor.uri} has no key {key_id}")
                return ResolvedKey(key_id, actor.uri, found.pem, actor, doc, tuple(learned))
            key = key_document(doc)
            if key is None or key.key_id != key_id:
                return fail(Reason.UNKNOWN_KEY, f"{without_fragment(key_id)} is neither an actor nor the key")
            owner_doc = await self.fetch_document(key.owner, learned=learned)
            owner = actor_from_as2(owner_doc)
            # The owner must claim the key, or anyone could publish a key "owned" by anyone.
            if not any(k.key_id == key_id and k.pem.strip() == key.pem.strip() for k in owner.keys):
                return fail(Reason.UNKNOWN_KEY, f"{owner.uri} does not list the key {key_id}")
            return ResolvedKey(key_id, owner.uri, key.pem, owner, owner_doc, tuple(learned))
        except HTTPStatusError as exc:
            if exc.status in (404, 410):
                return fail(Reason.UNKNOWN_KEY, f"{exc.url} answered {exc.status}")
            return fail(Reason.KEY_FETCH_FAILED, str(exc))
        except AddressRefused as exc:
            return fail(Reason.KEY_FETCH_FAILED, str(exc))
        except FetchError as exc:
            return fail(Reason.KEY_FETCH_FAILED, str(exc))
        except BadDocument as exc:
            return fail(Reason.KEY_FETCH_FAILED, f"{key_id}: {exc}")

    async def resolve_multikey(self, key_id: str, *, refresh: bool = False) -> MultikeyInfo | Rejection:
        """The Ed25519 key a proof's `verificationMethod` names (FEP-521a): listed by its
        controller, whose document comes from the cache unless `refresh` or it lacks the key."""

        def fail(reason: Reason, message: str) -> Rejection:
            return Rejection(reason, message, key_id)

        if not is_http_url(key_id):
            return fail(Reason.UNKNOWN_KEY, "the verificationMethod is not an http(s) URL")
        url = without_fragment(key_id)
        try:
            cached = None if refresh else await RemoteActor.filter(uri=url, gone_at=None).first()
            doc: Mapping[str, Any] | None = cached.data if cached is not None and cached.data else None
            learned: list[tuple[str, str]] = []  # not remembered: a refused request writes nothing
            if doc is None or not any(k.key_id == key_id for k in multikeys_in(doc)):
                doc = await self.fetch_document(url, learned=learned)
            found = next((k for k in multikeys_in(doc) if k.key_id == key_id), None)
            if found is None:
                return fail(Reason.UNKNOWN_KEY, f"{url} lists no Multikey {key_id}")
            if found.controller != doc.get("id"):  # a key of its own, or listed for another: its controller must list it
                owner = await self.fetch_document(found.controller, learned=learned)
                if not any(k.key_id == key_id and k.multibase == found.multibase and k.controller == owner.get("id")
                           for k in multikeys_in(owner)):
                    return fail(Reason.UNKNOWN_KEY, f"{found.controller} does not list the key {key_id}")
            return found
        except HTTPStatusError as exc:
            reason = Reason.UNKNOWN_KEY if exc.status in (404, 410) else Reason.KEY_FETCH_FAILED
            return fail(reason, str(exc))
        except FetchError as exc:
            return fail(Reason.KEY_FETCH_FAILED, str(exc))

    async def remember(self, key: ResolvedKey, *, using_db: Any = None) -> None:
        """Store a freshly fetched signer and what its host accepted (nothing for a cached one)."""
        if key.actor is not None and key.document is not None:
            await self._store(key.actor, key.document, key.key_id, using_db=using_db)
        for host, scheme in key.schemes:
            await remember_scheme(host, Scheme(scheme), using_db=using_db)

    # -- actors, for delivering and showing ---------------------------------------------

    async def get(self, uri: str, *, refresh: bool = False) -> RemoteActor:
        """The actor at `uri`, from the cache while fresh. Raises FetchError (ActorGone on 410)."""
        cached = await RemoteActor.filter(uri=uri).first()
        if cached is not None and cached.gone_at is not None and not refresh:
            raise ActorGone(uri, "the actor is gone", 410)
        if cached is not None and not refresh and cached.fetched_at > self.clock() - self.refresh_after:
            return cached
        try:
            doc = await self.fetch_document(uri)
            actor = actor_from_as2(doc)
        except HTTPStatusError as exc:
            if exc.status == 410:
                await self._mark_gone(uri)
                raise ActorGone(uri, "the actor is gone", 410) from exc
            raise
        except BadDocument as exc:
            raise DocumentRefused(uri, str(exc)) from None
        return await self._store(actor, doc, cached.key_id if cached else None)

    async def _mark_gone(self, uri: str) -> None:
        await forget_actor(uri, "its document answered 410", now=self.clock())

    # -- links to actors (mentions) ------------------------------------------------------

    async def find_actor(self, url: str) -> RemoteActor:
        """The actor a link names: its id, or a page about it such as Mastodon's profile
        `https://host/@alice` (the link a post's mention carries). Raises FetchError.

        Mastodon answers its profile URL, asked for AS2, with the actor's document, whose
        `id` is `https://host/users/alice` (AccountsController#show): that id is fetched
        in turn, with the id check, and only on the link's own origin. Else WebFinger
        `acct:alice@host` (RFC 7033) names the actor, for a profile page that is HTML only."""
        known = await RemoteActor.filter(profile_url=url, gone_at=None).exclude(uri=url).first()
        if known is not None:
            return await self.get(known.uri)
        named: str | None = None
        try:
            return await self.get(url)
        except OtherId as exc:
            refused: DocumentRefused = exc
            if is_http_url(exc.named) and origin(str(exc.named)) == origin(url):
                named = without_fragment(str(exc.named))
        except DocumentRefused as exc:  # not AS2 (an HTML page), or not an actor: WebFinger may know
            refused = exc
        if named is None:
            named = await self._webfinger(url)
        if named is None or named == without_fragment(url):
            raise refused
        log.info("remote.profile_link url=%s actor=%s", url, named)
        return await self.get(named)

    async def _webfinger(self, url: str) -> str | None:
        """The actor id WebFinger gives for a `/@user` profile link on its own host, or None."""
        parts = urlsplit(url)
        name = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if not name.startswith("@") or len(name) < 2 or "@" in name[1:] or not parts.hostname:
            return None  # not a profile path, or a remote account's page (/@bob@elsewhere)
        resource = f"acct:{name[1:]}@{parts.hostname}"
        try:
            return await self._webfinger_self(parts.scheme, parts.netloc, resource)
        except FetchError as exc:
            log.info("remote.webfinger_failed resource=%s error=%s", resource, exc)
            return None

    async def _webfinger_self(self, scheme: str, netloc: str, resource: str) -> str | None:
        """The actor id (the `self` link of an ActivityStreams type) the JRD of `resource` at
        `scheme://netloc` names, or None. Raises FetchError."""
        query = urlunsplit((scheme, netloc, "/.well-known/webfinger", urlencode({"resource": resource}), ""))
        result = await fetch(self.session, query, accept=JRD_ACCEPT, max_bytes=self.max_bytes, timeout=self.timeout)
        return actor_link(result.body)

    async def find_handle(self, handle: str, *, plain_http: bool = False) -> RemoteActor:
        """The actor `@user@host` names: WebFinger `acct:user@host` on its host (RFC 7033), then
        its document, fetched afresh. https; then http too with `plain_http` (tests, a private
        setup). Raises FetchError, or PermanentError when the host knows no such account."""
        user, _, host = handle.removeprefix("@").partition("@")
        resource = f"acct:{user}@{host}"
        failure: FetchError | None = None
        for scheme in ("https", "http") if plain_http else ("https",):
            try:
                named = await self._webfinger_self(scheme, host, resource)
            except FetchError as exc:
                failure = exc
                continue
            if named is None:
                raise PermanentError(f"{host}'s WebFinger names no ActivityPub actor for {handle}")
            return await self.get(named, refresh=True)
        if isinstance(failure, HTTPStatusError) and failure.status in (404, 410):
            raise PermanentError(f"no account {handle}: {failure}") from failure
        assert failure is not None
        raise failure

    async def _store(self, actor: ActorInfo, doc: Mapping[str, Any], key_id: str | None, *,
                     using_db: Any = None) -> RemoteActor:
        key = next((k for k in actor.keys if k.key_id == key_id), actor.keys[0] if actor.keys else None)
        values = {
            "host": actor.host,
            "inbox": actor.inbox,
            "shared_inbox": actor.shared_inbox,
            "key_id": key.key_id if key else None,
            "public_key_pem": key.pem if key else None,
            "handle": actor.handle,
            "name": actor.name,
            "icon_url": actor.icon_url,
            "profile_url": actor.profile_url,
            "data": dict(doc),
            "fetched_at": self.clock(),
            "gone_at": None,
        }
        row, _created = await RemoteActor.update_or_create(defaults=values, using_db=using_db, uri=actor.uri)
        return row


async def forget_actor(uri: str, reason: str, *, now: datetime | None = None) -> int:
    """The actor is gone (its document answered 410, or it sent its own Delete): mark it
    gone and remove it as a follower of every blog (issue 6: "a 410 for the follower's
    actor removes the follower"). Returns how many follower rows were removed.

    A later signed request from the same actor stores it afresh (`remember`), and a new
    Follow makes it a follower again."""
    now = now or utcnow()
    async with in_transaction() as conn:
        if not await RemoteActor.filter(uri=uri).using_db(conn).update(gone_at=now):
            await RemoteActor.create(uri=uri, host=host_of(uri), data={}, fetched_at=now, gone_at=now, using_db=conn)
        removed = await delete_counted(Follower.filter(actor_uri=uri).using_db(conn))
    log.info("remote.gone actor=%s reason=%s followers_removed=%d", uri, reason, removed)
    return removed
