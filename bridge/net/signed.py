"""Signed requests out: every GET and POST the bridge sends to the fediverse, signed as one
of our actors, so servers in authorized-fetch ("secure") mode answer it.

Double-knocking (https://swicg.github.io/activitypub-http-signature/, "how to upgrade"):
sign with the scheme the host is remembered to accept, else draft-cavage (what
nearly every server verifies today); on 400 or 401 try the other scheme once
(RFC 9421 with the components an `Accept-Signature` challenge asks for, when the
server sent one); remember per host (`RemoteHost.signature_scheme`) what worked.
Every attempt is signed at the moment it is sent, so `Date`/`created` are fresh
however long the job waited in the queue. The session is the app's one guarded
client (bridge/net/guard.py); GETs go through bridge/net/fetch.py (size cap, timeouts,
redirects hop by hop, each hop signed for its own URL).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from bridge.as2.vocab import AP_ACCEPT, AS2_CONTENT_TYPE
from bridge.core.clock import Clock, utcnow
from bridge.core.links import host_of
from bridge.models import RemoteHost
from bridge.net.fetch import MAX_BYTES, AddressRefused, FetchError, FetchResult, HTTPStatusError, fetch
from bridge.net.guard import BlockedAddress, check_url
from bridge.signatures import AcceptSignature, HttpRequest, Scheme, SigningKey, parse_accept_signature, sign_request

log = logging.getLogger("bridge.http_signing")

DEFAULT_SCHEME = Scheme.CAVAGE
KNOCK_AGAIN = frozenset({400, 401})  # what a server says when it does not accept the scheme
POST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0  # delivery.connect_timeout_seconds's default
_BODY_PREFIX = 2048
# Signing runs here, off the event loop: an RSA signature is ~0.4 ms of CPU during which
# `cryptography` releases the GIL, so a fan-out signs on every core while the loop sends.
SIGNING_THREADS = 4
_signers = ThreadPoolExecutor(max_workers=SIGNING_THREADS, thread_name_prefix="bridge-sign")


async def sign_off_loop(request: HttpRequest, key: SigningKey, now: datetime, scheme: Scheme,
                        challenge: AcceptSignature | None = None) -> dict[str, str]:
    """`sign_request` in the signing threads (the loop keeps serving meanwhile)."""
    call = functools.partial(sign_request, request, key, now, scheme, challenge=challenge)
    return await asyncio.get_running_loop().run_in_executor(_signers, call)



@functools.lru_cache(maxsize=8)
def _exchange_timeout(seconds: float, connect: float | None) -> aiohttp.ClientTimeout:
    """The whole exchange within `seconds`; the socket's connection (TCP, and TLS for https)
    within `connect`, so a host that does not accept connections is given up on early. Not
    aiohttp's `connect`, which also counts the wait for a free connection of the pool."""
    return aiohttp.ClientTimeout(total=seconds, sock_connect=min(connect, seconds) if connect else None)


def _other(scheme: Scheme) -> Scheme:
    return Scheme.RFC9421 if scheme is Scheme.CAVAGE else Scheme.CAVAGE


async def remembered_scheme(host: str, *, using_db: Any = None) -> Scheme | None:
    """The scheme `host` last accepted, if we know one."""
    row = await RemoteHost.filter(host=host).using_db(using_db).first()
    value = row.signature_scheme if row is not None else None
    return Scheme(value) if value in (Scheme.CAVAGE.value, Scheme.RFC9421.value) else None


async def remember_scheme(host: str, scheme: Scheme, *, using_db: Any = None) -> None:
    """Record that `host` accepted `scheme` (a write only when it changes)."""
    if await remembered_scheme(host, using_db=using_db) is scheme:
        return
    if not await RemoteHost.filter(host=host).using_db(using_db).update(signature_scheme=scheme.value):
        await RemoteHost.bulk_create([RemoteHost(host=host, signature_scheme=scheme.value)], ignore_conflicts=True,
                                     using_db=using_db)
        await RemoteHost.filter(host=host).using_db(using_db).update(signature_scheme=scheme.value)
    log.info("signing.scheme_learned host=%s scheme=%s", host, scheme)


def _challenge(headers: Mapping[str, str]) -> AcceptSignature | None:
    """The first `Accept-Signature` member we could meet (RFC 9421 §5.1)."""
    challenges = parse_accept_signature(headers.get("Accept-Signature", ""))
    return challenges[0] if challenges else None


def _second(first: Scheme, headers: Mapping[str, str]) -> tuple[Scheme, AcceptSignature | None]:
    """The second knock: the other scheme, or RFC 9421 as the server's challenge asks."""
    challenge = _challenge(headers)
    return (Scheme.RFC9421, challenge) if challenge is not None else (_other(first), None)


@dataclass(frozen=True, slots=True)
class SignedFetch:
    """A signed GET's answer, and the scheme the host accepted (not yet remembered)."""

    result: FetchResult
    host: str
    scheme: Scheme


async def signed_fetch(
    session: aiohttp.ClientSession,
    url: str,
    key: SigningKey,
    *,
    accept: str = AP_ACCEPT,
    max_bytes: int = MAX_BYTES,
    timeout: float = 20.0,
    clock: Clock = utcnow,
) -> SignedFetch:
    """GET `url` signed with `key`, double-knocking, writing nothing (the caller may
    `remember_scheme` later, e.g. only when it accepts what it fetched for). Raises FetchError."""
    host = host_of(url)
    first = await remembered_scheme(host) or DEFAULT_SCHEME

    def signer(scheme: Scheme, challenge: AcceptSignature | None) -> Callable[[str, Mapping[str, str]], Mapping[str, str]]:
        def sign(hop_url: str, headers: Mapping[str, str]) -> Mapping[str, str]:
            return sign_request(HttpRequest.of("GET", hop_url, headers), key, clock(), scheme, challenge=challenge)
        return sign

    try:
        result = await fetch(session, url, accept=accept, max_bytes=max_bytes, timeout=timeout, sign=signer(first, None))
        return SignedFetch(result, host, first)
    except HTTPStatusError as exc:
        if exc.status not in KNOCK_AGAIN:
            raise
        second, challenge = _second(first, exc.headers)
        log.info("signing.knock_again url=%s status=%d from=%s to=%s", url, exc.status, first, second)
        result = await fetch(session, url, accept=accept, max_bytes=max_bytes, timeout=timeout,
                             sign=signer(second, challenge))
        return SignedFetch(result, host, second)


async def signed_get(
    session: aiohttp.ClientSession,
    url: str,
    key: SigningKey,
    *,
    accept: str = AP_ACCEPT,
    max_bytes: int = MAX_BYTES,
    timeout: float = 20.0,
    clock: Clock = utcnow,
) -> FetchResult:
    """GET `url` signed with `key`, double-knocking, remembering the scheme that worked.
    Raises FetchError (or a subclass)."""
    fetched = await signed_fetch(session, url, key, accept=accept, max_bytes=max_bytes, timeout=timeout, clock=clock)
    await remember_scheme(fetched.host, fetched.scheme)
    return fetched.result


@dataclass(frozen=True, slots=True)
class PostResult:
    """What the inbox answered (any status: the caller classifies it)."""

    url: str
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes  # the first bytes only
    scheme: Scheme  # the signature scheme of the attempt that gave this answer

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def signed_post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    key: SigningKey,
    *,
    content_type: str = AS2_CONTENT_TYPE,
    timeout: float = POST_TIMEOUT,
    connect_timeout: float | None = CONNECT_TIMEOUT,
    clock: Clock = utcnow,
    scheme: Scheme | None = None,
    remember: bool = True,
) -> PostResult:
    """POST `body` to `url` signed with `key`, double-knocking; redirects are not followed
    (an inbox that moves is a failed delivery, as for Mastodon). Raises FetchError
    (AddressRefused for a refused address) when there is no answer at all."""
    host = host_of(url)
    # `scheme`: the host's remembered scheme when the caller already knows it (no query).
    first = scheme or (await remembered_scheme(host) if remember else None) or DEFAULT_SCHEME
    limits = (timeout, connect_timeout)
    result = await _post_once(session, url, body, key, content_type, limits, clock, first, None)
    if result.status in KNOCK_AGAIN:
        second, challenge = _second(first, result.headers)
        log.info("signing.knock_again url=%s status=%d from=%s to=%s", url, result.status, first, second)
        result = await _post_once(session, url, body, key, content_type, limits, clock, second, challenge)
    if result.ok and remember:
        await remember_scheme(host, result.scheme)
    return result


async def _post_once(
    session: aiohttp.ClientSession, url: str, body: bytes, key: SigningKey, content_type: str,
    limits: tuple[float, float | None], clock: Clock, scheme: Scheme, challenge: AcceptSignature | None,
) -> PostResult:
    timeout, connect_timeout = limits
    request = HttpRequest.of("POST", url, {"Content-Type": content_type, "Accept": AP_ACCEPT}, body)
    try:
        check_url(url)
        headers = await sign_off_loop(request, key, clock(), scheme, challenge)  # signed as it leaves
        # aiohttp's one timer bounds the whole exchange, the answer's body included (a timer
        # of our own around it would be one more per delivery for the event loop to keep).
        async with session.post(url, data=body, headers=headers, allow_redirects=False,
                                timeout=_exchange_timeout(timeout, connect_timeout)) as response:
            answer = await response.content.read(_BODY_PREFIX)
            return PostResult(url, response.status, response.headers, answer, scheme)  # headers: read-only
    except BlockedAddress as exc:
        raise AddressRefused(url, exc.reason, exc.address) from exc
    except aiohttp.ConnectionTimeoutError as exc:  # a TimeoutError too: caught first
        raise FetchError(url, f"connect timeout after {min(connect_timeout or timeout, timeout):g} s") from exc
    except TimeoutError as exc:
        raise FetchError(url, f"timeout after {timeout:g} s") from exc
    except aiohttp.ClientError as exc:
        raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        raise FetchError(url, f"bad URL: {exc}") from exc
