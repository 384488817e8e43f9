"""The inboxes: POST /users/{name}/inbox and the shared POST /inbox.

In order, each failing closed with a JSON `{"error": reason, "detail": …}`, logged
once (`inbox.rejected reason=… actor=… key_id=…`) and nothing written:
1. a JSON content type, or none (415: a form or a page is not an activity); the body,
   read in chunks, at most 1 MB (413 before reading more);
2. a JSON object with an id, a type and an actor, without lone surrogates, the id and
   actor without control, format or space characters (400: bridge/core/textguard.py);
3. an activity whose actor is blocked, or on a blocked domain (bridge/inbox/moderation.py):
   answered 202 and dropped, before any key of the blocked server is fetched;
4. the HTTP signature, then the signer's right to send it (bridge/inbox/verify.py: 401,
   400 for a malformed signature header);
5. stored with its `inbox.process` job, then 202 once committed: grouped with the other
   requests of the moment into one transaction (bridge/inbox/store.py), or, when the
   signer's actor document was just fetched, in a transaction of its own with it. A
   redelivery (same activity id) is answered 202 and stored once.
Signers' keys are read from memory for a minute (bridge/inbox/store.py `KeyCache`).
Handling the activities (Follow, Create…) is the `inbox.process` job's work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bridge.appkeys import CONFIG, CONTEXT, HTTP
from bridge.as2.ids import id_of
from bridge.core import metrics, urls
from bridge.core.clock import utcnow
from bridge.core.links import host_of, is_http_url
from bridge.core.textguard import has_lone_surrogate, has_nul, unsafe_char
from bridge.inbox.keycache import KeyCache
from bridge.inbox.moderation import BlockList
from bridge.inbox.store import Accepted, InboxWriter, job_of
from bridge.inbox.verify import KeyResolver, Verified, verify_request
from bridge.jobs.store import enqueue
from bridge.models import InboxActivity
from bridge.net.hosts import HostHealth
from bridge.net.remote import RemoteActors
from bridge.signatures import HttpRequest, Reason, Rejection, authority_of

log = logging.getLogger("bridge.inbox")

MAX_BODY_BYTES = 1024 * 1024  # an activity is a few kB; Mastodon's own limit is 1 MB
_CHUNK = 64 * 1024



@dataclass
class Trust:
    """What the inbox verifies with: a key resolver and a clock."""

    keys: KeyResolver
    clock: Callable[[], datetime] = field(default=utcnow)
    writer: InboxWriter = field(default_factory=InboxWriter)


TRUST = web.AppKey("inbox_trust", Trust)


def add_routes(app: web.Application) -> None:
    """The inbox routes, and (unless the app already has one) the `Trust` they use."""
    app.router.add_post(urls.ACTOR_INBOX_ROUTE, actor_inbox)
    app.router.add_post(urls.SHARED_INBOX_PATH, shared_inbox)
    app.cleanup_ctx.append(_trust)


async def _trust(app: web.Application) -> AsyncIterator[None]:
    if TRUST not in app:  # a caller may bring its own resolver or clock
        app[TRUST] = Trust(KeyCache(RemoteActors(app[HTTP], app[CONFIG].server.base_url)))
    yield


async def actor_inbox(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if not any(blog.name == name for blog in request.app[CONFIG].blogs):
        return _refuse(Rejection(Reason.NO_SUCH_ACTOR, f"no actor {name} here"), None)
    return await _receive(request, recipient=name)


async def shared_inbox(request: web.Request) -> web.StreamResponse:
    return await _receive(request, recipient=None)


async def _receive(request: web.Request, *, recipient: str | None) -> web.StreamResponse:
    base_url = request.app[CONFIG].server.base_url
    trust = request.app[TRUST]
    if not _json_media_type(request.headers.get("Content-Type")):
        return _refuse(Rejection(Reason.UNSUPPORTED_MEDIA_TYPE,
                                 f"content type {request.content_type!r} is not JSON (send application/activity+json)"), None)
    body = await _read_body(request)
    if isinstance(body, Rejection):
        return _refuse(body, None)
    activity = _parse(body)
    if isinstance(activity, Rejection):
        return _refuse(activity, None)
    kind = activity.get("type")
    metric_type = kind if kind in metrics.ACTIVITY_TYPES else "other"
    actor = id_of(activity.get("actor"))
    context = request.app[CONTEXT]
    blocked = await context.state(BlockList).reason(str(actor))
    if blocked is not None:  # answered like any other, and dropped (bridge/inbox/moderation.py)
        log.info("inbox.dropped id=%s type=%s actor=%s reason=blocked by %s", activity["id"], activity["type"],
                 actor, blocked)
        return web.Response(status=202)
    verdict = await verify_request(_as_signed(request, base_url, body), activity, clock=trust.clock, keys=trust.keys)
    if isinstance(verdict, Rejection):
        return _refuse(verdict, actor, metric_type)
    stored = await _store(activity, verdict, recipient, trust)
    await context.state(HostHealth).answered(host_of(verdict.actor))  # a host that speaks to us is up
    metrics.INBOX.inc(type=metric_type, outcome="accepted" if stored else "duplicate")
    log.info("inbox.accepted id=%s type=%s actor=%s scheme=%s duplicate=%s",
             activity["id"], activity["type"], verdict.actor, verdict.scheme, not stored)
    return web.Response(status=202)


def _as_signed(request: web.Request, base_url: str, body: bytes) -> HttpRequest:
    """The request as its signer addressed it: our public origin, the raw path and query
    as received, the headers as received except `Host`.

    `Host` is our public host, whatever the reverse proxy in front passed on: a signature
    made for another server (another Host) then fails, and a proxy that rewrites Host
    does not break every signature. RFC 9421's `@target-uri` and `@authority` follow
    from the same public origin.
    """
    public = base_url.rstrip("/") + request.raw_path
    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
    headers.append(("Host", authority_of(base_url)))
    return HttpRequest.of(request.method, public, headers, body)


def _json_media_type(value: str | None) -> bool:
    """No Content-Type (some servers send none), or application/json or any +json type
    (application/activity+json, application/ld+json; profile=…)."""
    if value is None or not value.strip():
        return True
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _read_body(request: web.Request) -> bytes | Rejection:
    too_big = Rejection(Reason.BODY_TOO_LARGE, f"the body is larger than {MAX_BODY_BYTES} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return too_big
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = await request.content.read(min(_CHUNK, MAX_BODY_BYTES + 1 - total))
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            return too_big
        parts.append(chunk)


def _parse(body: bytes) -> dict[str, Any] | Rejection:
    try:
        activity = json.loads(body)
    except (ValueError, RecursionError):
        return Rejection(Reason.NOT_JSON, "the body is not JSON")
    if not isinstance(activity, dict):
        return Rejection(Reason.NOT_JSON, "the body is not a JSON object")
    if not is_http_url(activity.get("id")):
        return Rejection(Reason.INVALID_ACTIVITY, "the activity has no http(s) id")
    if not isinstance(activity.get("type"), str) or not activity["type"]:
        return Rejection(Reason.INVALID_ACTIVITY, "the activity has no type")
    if not is_http_url(id_of(activity.get("actor"))):
        return Rejection(Reason.INVALID_ACTIVITY, "the activity has no actor")
    if len(activity["id"]) > 2000 or len(activity["type"]) > 64:
        return Rejection(Reason.INVALID_ACTIVITY, "the activity id or type is too long")
    for name, value in (("id", activity["id"]), ("type", activity["type"]), ("actor", id_of(activity["actor"]))):
        if bad := unsafe_char(value or ""):
            return Rejection(Reason.INVALID_ACTIVITY, f"the activity {name} contains {bad}")
    if has_lone_surrogate(body, activity):
        return Rejection(Reason.INVALID_ACTIVITY, "the body holds a lone UTF-16 surrogate (not storable text)")
    if has_nul(body, activity):
        return Rejection(Reason.INVALID_ACTIVITY, "the activity contains a NUL character")
    return activity


async def _store(activity: dict[str, Any], verified: Verified, recipient: str | None, trust: Trust) -> bool:
    """Store the activity with its job (and a freshly fetched signer); False if it was already there."""
    key = verified.key
    item = Accepted(activity, verified.actor, verified.key_id, verified.scheme.value, recipient)
    if key.actor is None and not key.schemes:  # nothing to remember of the signer: group commit
        return await trust.writer.store(item)
    if await InboxActivity.exists(activity_id=activity["id"]):
        return False
    try:
        async with in_transaction() as conn:
            row = await InboxActivity.create(
                activity_id=activity["id"], actor=verified.actor, type=activity["type"], recipient=recipient,
                key_id=verified.key_id, signature_scheme=verified.scheme.value, body=activity, using_db=conn,
            )
            await trust.keys.remember(verified.key, using_db=conn)
            await enqueue(job_of(row.id, item), using_db=conn)
    except IntegrityError:  # the same activity arrived twice at once; the other one is stored
        return False
    return True


def _refuse(rejection: Rejection, actor: str | None, activity_type: str = "unknown") -> web.Response:
    metrics.INBOX.inc(type=activity_type, outcome=rejection.reason.value)
    log.info("inbox.rejected reason=%s status=%d actor=%s key_id=%s detail=%s",
             rejection.reason, rejection.status, actor, rejection.key_id, rejection.message)
    return web.json_response({"error": rejection.reason.value, "detail": rejection.message}, status=rejection.status)
