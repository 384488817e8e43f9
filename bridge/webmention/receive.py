"""The blog's ping: POST /webmention (W3C Webmention, form-encoded `source` and `target`),
so a blog with a Webmention sender (WordPress's Webmention plugin) publishes at once.

Accepted only when `source` is a page of a configured blog and `target` is on the bridge
(400 otherwise, said why); then 202 and a `webmention.ping` job. The job checks that the
source really links to the target (Webmention §3.2.2: the receiver must verify the
link), then reads and records the post like `bridge publish URL`: its Create, Update or
Delete is queued with it. A source that answers 404/410 is a removal (it can link to
nothing any more): the known post is deleted.

One source need not link to its target: the WordPress plugin's page of a comment the
blogger wrote in WordPress's own form, answering a comment that came from one of our
interaction pages (webmention/wordpress.py). It links to the fediverse author's profile
(the parent comment's author URL), not to our page. It is taken as the answer to the
target's interaction when the source is on the blog (`check_ping`), is such a comment
page, and replies to that interaction's author or post; it is recorded as the post
`PERMALINK#comment-N` in reply to our page, so it reaches the fediverse `inReplyTo` the
fediverse post, attributed to the blog's actor and mentioning the author.
"""

from __future__ import annotations

import html
import logging
from dataclasses import replace

from aiohttp import web

from bridge.appkeys import CONFIG
from bridge.config import BlogConfig, Config
from bridge.core import urls
from bridge.core.textguard import unsafe_char
from bridge.core.urls import PING_PATH, is_ours
from bridge.jobs.kinds import Ping
from bridge.jobs.store import JobContext, enqueue
from bridge.models import Interaction, Job
from bridge.net.fetch import FetchError, HTTPStatusError, fetch
from bridge.publish import reader
from bridge.publish.record import mark_gone, publish_now, record_post
from bridge.webmention.pages import answerable
from bridge.webmention.wordpress import answer_comment

log = logging.getLogger("bridge.ping")

_MAX_URL = 2000


def check_ping(config: Config, source: str, target: str) -> tuple[BlogConfig | None, str]:
    """The blog the ping is for, or None and why it is refused."""
    if not source or not target:
        return None, "source and target are required"
    if len(source) > _MAX_URL or len(target) > _MAX_URL or not source.startswith(("http://", "https://")):
        return None, "source must be an http(s) URL"
    for name, value in (("source", source), ("target", target)):
        if bad := unsafe_char(value):  # a newline would forge log lines; a bidi override, what is shown
            return None, f"{name} contains {bad}"
    if not is_ours(config.server.base_url, target):
        return None, "target is not on this bridge"
    blog = next((b for b in config.blogs if b.owns(source)), None)
    if blog is None:
        return None, "source is not a page of a blog bridged here"
    return blog, ""


def links_to(body: bytes, target: str) -> bool:
    """Whether the page mentions the target URL (raw, or HTML-escaped in an attribute)."""
    text = body.decode("utf-8", "replace")
    return target in text or html.escape(target) in text


async def receive_ping(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge as exc:  # over the app's client_max_size (bridge/app.py)
        why = exc.text or "the form is too large"
        log.info("ping.refused source=None target=None reason=%s", why)
        return web.json_response({"error": "too_large", "detail": why}, status=413)
    source, target = str(form.get("source", "")).strip(), str(form.get("target", "")).strip()
    blog, why = check_ping(config, source, target)
    if blog is not None:  # the blog answering back: the interaction page it answers must be served
        why = await answerable(config.server.base_url, target)
    if blog is None or why:
        log.info("ping.refused source=%s target=%s reason=%s", source, target, why)
        return web.json_response({"error": "invalid_request", "detail": why}, status=400)
    await enqueue(Ping(blog.name, source, target))
    log.info("ping.accepted blog=%s source=%s", blog.name, source)
    return web.json_response({"status": "accepted"}, status=202)


async def ping_job(spec: Ping, job: Job, ctx: JobContext) -> None:
    """Verify that the source links to the bridge, then publish it."""
    blog = ctx.config.blog(spec.blog)
    source, target = spec.source, spec.target
    try:
        page = await fetch(ctx.http, source)
    except HTTPStatusError as exc:
        if exc.status not in (404, 410):
            raise
        page = None
    comment = answer_comment(source)
    if comment is not None:
        await _answer(ctx, blog, source, comment, target, page.body if page is not None else None)
        return
    if page is not None and not links_to(page.body, target):
        log.info("ping.ignored source=%s reason=the source does not link to %s", source, target)
        return
    try:
        change = await publish_now(ctx.http, blog, source)
    except FetchError as exc:
        if page is None:  # a 404/410 page the bridge never published: nothing to delete
            log.info("ping.ignored source=%s reason=%s", source, exc)
            return
        raise
    log.info("ping.published source=%s change=%s", source, change.value)


def _answers(in_reply_to: tuple[str, ...], row: Interaction) -> bool:
    """Whether a WordPress comment page's in-reply-to names the interaction: its author
    (the plugin writes the parent comment's author URL), its post, or its page."""
    names = {u.rstrip("/") for u in (row.author_url, row.actor_uri, row.url, row.object_id) if u}
    return any(u.rstrip("/") in names for u in in_reply_to)


async def _answer(ctx: JobContext, blog: BlogConfig, source: str, comment: str, target: str,
                  body: bytes | None) -> None:
    """A comment written in WordPress's own form (the plugin's page of it, `body`; None
    when it answered 404/410), answering one of our pages. Recorded as the post `comment`."""
    if body is None:  # the comment was deleted on the blog
        change = await mark_gone(blog.name, comment)
        log.info("ping.answer source=%s comment=%s change=%s", source, comment, change.value)
        return
    route = urls.parse(ctx.config.server.base_url, target)
    row = await Interaction.get_or_none(id=route.interaction_id) \
        if isinstance(route, urls.InteractionPage) else None
    read = await reader.read_post(ctx.http, source, feed_url=blog.feed)
    if row is None or not (links_to(body, target) or _answers(read.post.in_reply_to, row)):
        log.info("ping.ignored source=%s reason=neither links to %s nor answers its author", source, target)
        return
    post = replace(read.post, url=comment, in_reply_to=(target,))
    change = await record_post(blog.name, replace(read, post=post))
    log.info("ping.answer source=%s comment=%s interaction=%d change=%s", source, comment, row.id, change.value)


def add_routes(app: web.Application) -> None:
    app.router.add_post(PING_PATH, receive_ping)
