"""Sending webmentions (W3C Webmention §3.1): discover the target's endpoint, POST
form-encoded `source` and `target`, record what happened on the interaction.

An edge (the one guarded HTTP client) and a flow (`webmention.send` jobs). 200, 201 and
202 are success; a 4xx is final (recorded on the interaction, the job ends); a 5xx, a
timeout or a connection failure is retried by the job queue with its backoff. The
endpoint of a target is remembered for ENDPOINT_TTL seconds, so a burst of likes on one
post discovers once. A target without an endpoint is recorded as such (not retried).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from bridge.core.urls import interaction_page
from bridge.jobs.kinds import SendWebmention
from bridge.jobs.retry import PermanentError, Weather
from bridge.jobs.store import JobContext, enqueue, utcnow
from bridge.models import Interaction, Job, WebmentionState
from bridge.net.fetch import AddressRefused, FetchError, HTTPStatusError, fetch
from bridge.net.guard import BlockedAddress, check_url
from bridge.webmention.discovery import discover_endpoint
from bridge.webmention.wordpress import comment_id_of, is_plugin_endpoint, thread_target

log = logging.getLogger("bridge.webmention")

ENDPOINT_TTL = 300.0  # seconds a discovered endpoint (or its absence) is remembered per target
POST_TIMEOUT = 30.0
_SUCCESS = (200, 201, 202)


class NoEndpoint(Exception):
    def __init__(self, target: str) -> None:
        super().__init__(f"{target} advertises no webmention endpoint")
        self.target = target


class SendFailed(Weather):
    """The endpoint refused (4xx: final) or failed (5xx, network: worth retrying)."""

    def __init__(self, endpoint: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason
        self.status = status

    @property
    def final(self) -> bool:
        # Anything but a 5xx will not get better by itself (a redirect answering a POST included).
        return self.status is not None and self.status < 500


@dataclass(frozen=True, slots=True)
class Sent:
    endpoint: str
    status: int
    location: str | None
    body: str  # the start of the answer, for the operator


async def discover(http: aiohttp.ClientSession, target: str) -> str | None:
    """The target's webmention endpoint (fetching it, redirects followed), or None."""
    try:
        page = await fetch(http, target)
        headers, body, final, ctype = page.headers.getall("Link", []), page.text, page.url, page.content_type
    except HTTPStatusError as exc:
        # A page that answers 4xx may still advertise its endpoint in a header (webmention.rocks).
        if exc.status is None or exc.status >= 500:
            raise
        getall = getattr(exc.headers, "getall", None)
        headers, body, final, ctype = getall("Link", []) if getall else [], None, exc.url, None
    return discover_endpoint(final, headers, body, ctype)


async def post(http: aiohttp.ClientSession, endpoint: str, source: str, target: str) -> Sent:
    """POST one webmention. Raises SendFailed (its `final` says whether to retry)."""
    try:
        check_url(endpoint)
        async with asyncio.timeout(POST_TIMEOUT):
            async with http.post(endpoint, data={"source": source, "target": target},
                                 headers={"Accept": "*/*"}, allow_redirects=False) as response:
                text = (await response.content.read(2048)).decode("utf-8", "replace")
                if response.status in _SUCCESS:
                    return Sent(endpoint, response.status, response.headers.get("Location"), text)
                raise SendFailed(endpoint, f"HTTP {response.status} {text[:200]}".strip(), response.status)
    except BlockedAddress as exc:
        raise SendFailed(endpoint, f"refused address: {exc}", 0) from exc
    except TimeoutError as exc:
        raise SendFailed(endpoint, f"timeout after {POST_TIMEOUT:g} s") from exc
    except aiohttp.ClientError as exc:
        raise SendFailed(endpoint, f"{type(exc).__name__}: {exc}") from exc


async def endpoint_of(http: aiohttp.ClientSession, target: str, ctx: JobContext | None = None) -> str:
    """The target's endpoint, discovered (cached per target in `ctx` when given). Raises
    NoEndpoint, or FetchError when the target cannot be read."""
    async def load() -> str | None:
        return await discover(http, target)
    endpoint = await (ctx.memo.get(("wm-endpoint", target), ENDPOINT_TTL, load) if ctx else load())
    if endpoint is None:
        raise NoEndpoint(target)
    return endpoint


async def send_webmention(http: aiohttp.ClientSession, source: str, target: str,
                          ctx: JobContext | None = None) -> Sent:
    """Discover and send. Raises NoEndpoint, FetchError (the target could not be read) or SendFailed."""
    return await post(http, await endpoint_of(http, target, ctx), source, target)


async def queue_webmention(row: Interaction, reason: str, *, using_db: Any = None) -> Job:
    """Mark the interaction's webmention as queued and enqueue its job, in the caller's transaction."""
    row.webmention_state = WebmentionState.QUEUED
    row.webmention_error = None  # type: ignore[assignment]
    await row.save(using_db=using_db, update_fields=["webmention_state", "webmention_error", "updated_at"])
    return await enqueue(SendWebmention(row.id, reason), using_db=using_db)


async def webmention_job(spec: SendWebmention, job: Job, ctx: JobContext) -> None:
    """Send the webmention of one interaction from its page to its target (the blog post)."""
    row = await Interaction.get_or_none(id=spec.interaction)
    if row is None:
        log.info("webmention.skipped interaction=%s reason=gone from the database", spec.interaction)
        return
    source = interaction_page(ctx.config.server.base_url, row.id)
    last_attempt = job.attempts >= ctx.config.queue.max_attempts
    try:
        endpoint = await endpoint_of(ctx.http, row.target_url, ctx)
        target = row.webmention_target or await thread_target_of(ctx, row, endpoint)
        sent = await post(ctx.http, endpoint, source, target)
    except NoEndpoint as exc:
        await _record(row, WebmentionState.NO_ENDPOINT, error=str(exc))
        log.info("webmention.no_endpoint interaction=%d target=%s", row.id, row.target_url)
        return
    except SendFailed as exc:
        final = exc.final or last_attempt
        await _record(row, WebmentionState.FAILED if final else WebmentionState.QUEUED,
                      endpoint=exc.endpoint, status=exc.status, error=exc.reason)
        log.info("webmention.failed interaction=%d endpoint=%s status=%s final=%s reason=%s",
                 row.id, exc.endpoint, exc.status, final, exc.reason)
        if exc.final:
            raise PermanentError(str(exc)) from exc
        raise
    except AddressRefused as exc:  # a private address without allow_private_addresses: never better
        await _record(row, WebmentionState.FAILED, error=f"target: {exc.reason}")
        raise PermanentError(str(exc)) from exc
    except FetchError as exc:
        final = (exc.status is not None and 400 <= exc.status < 500) or last_attempt
        await _record(row, WebmentionState.FAILED if final else WebmentionState.QUEUED,
                      error=f"target: {exc.reason}")
        raise
    await _record(row, WebmentionState.SENT, endpoint=sent.endpoint, status=sent.status,
                  location=sent.location, sent=True)
    log.info("webmention.sent interaction=%d endpoint=%s target=%s status=%d reason=%s",
             row.id, sent.endpoint, target, sent.status, spec.reason)


async def thread_target_of(ctx: JobContext, row: Interaction, endpoint: str) -> str:
    """Where a reply in a thread goes on a WordPress blog: under its parent's comment
    (`?replytocom=ID`, the only way the plugin threads), when the parent went to the same
    post and its comment is shown there; else the post (a top-level comment; a later
    edit tries again). Kept on the row, so edits and deletions reach the same comment."""
    if row.parent_id is None or not is_plugin_endpoint(endpoint):
        return row.target_url
    parent = await Interaction.get_or_none(id=row.parent_id)
    if parent is None or parent.target_url != row.target_url or not parent.webmentions_sent:
        return row.target_url
    try:
        page = await fetch(ctx.http, row.target_url)
    except FetchError as exc:
        log.info("webmention.unthreaded interaction=%d reason=%s", row.id, exc)
        return row.target_url
    parent_page = interaction_page(ctx.config.server.base_url, parent.id)
    comment_id = await asyncio.to_thread(comment_id_of, page.text, parent_page)
    if comment_id is None:  # pending (WordPress shows approved comments only), or another theme
        log.info("webmention.unthreaded interaction=%d reason=no comment of %s on %s",
                 row.id, parent_page, row.target_url)
        return row.target_url
    target = thread_target(row.target_url, comment_id)
    row.webmention_target = target
    await row.save(update_fields=["webmention_target", "updated_at"])  # before the send: the page links to it
    log.info("webmention.threaded interaction=%d parent=%d comment=%d", row.id, parent.id, comment_id)
    return target


async def _record(row: Interaction, state: WebmentionState, *, endpoint: str | None = None,
                  status: int | None = None, error: str | None = None, location: str | None = None,
                  sent: bool = False) -> None:
    values: dict[str, Any] = {"webmention_state": state, "webmention_error": error, "updated_at": utcnow()}
    if endpoint is not None:
        values["webmention_endpoint"] = endpoint
    if status is not None:
        values["webmention_status"] = status
    if sent:
        values.update(webmention_location=location, webmention_sent_at=utcnow(),
                      webmentions_sent=row.webmentions_sent + 1)
    await Interaction.filter(id=row.id).update(**values)
