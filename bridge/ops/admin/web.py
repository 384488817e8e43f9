"""The dashboard's web plumbing: the page guard (session and CSRF), rendering with Jinja2
(autoescaped, no cache, no framing), notices after an action, the one log line of a refusal,
and the stylesheet. Pages and actions live in bridge/ops/admin/pages.py and
bridge/ops/admin/interactions.py."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from bridge import __version__
from bridge.appkeys import CONFIG
from bridge.config import ConfigError
from bridge.core.clock import utcnow
from bridge.ops.admin import auth as admin_auth
from bridge.ops.admin import data as admin_data
from bridge.ops.admin.auth import COOKIE, LoginLimiter, Session

log = logging.getLogger("bridge.admin")

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LOGIN_COOKIE = "bridge_login"  # the login form's CSRF nonce (before there is a session)

JINJA = web.AppKey("admin_jinja", jinja2.Environment)
LIMITER = web.AppKey("admin_login_limiter", LoginLimiter)

Page = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]

# Notices after an action (?done=CODE&n=N): fixed texts, so a link cannot put words on the page.
NOTICES = {
    "removed": "Follower removed; a Reject is on its way to them.",
    "blocked": "Blocked; their activities will be refused from now on.",
    "unblocked": "Unblocked.",
    "redelivered": "{n} failed deliveries queued again.",
    "reset": "Host marked available again; deliveries to it resume.",
    "retried": "{n} dead jobs queued again.",
    "approved": "Approved; the webmention is queued.",
    "rejected": "Rejected.",
    "resent": "The webmention is queued again.",
    "nothing": "Nothing to do.",
    "logged_out": "You are logged out.",
}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.filters["ago"] = _ago
    return env


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = (utcnow() - value).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    config = request.app[CONFIG]
    done = request.query.get("done", "")
    notice = NOTICES.get(done, "").format(n=number_param(request.query.get("n"), 0)) if done else ""
    context.setdefault("session", None)
    if template == "error.html" and status >= 400:
        refused(request, status, f"{context.get('title')}: {context.get('reason')}")
    html = request.app[JINJA].get_template(template).render(
        version=__version__, base_url=config.server.base_url, path=request.path, notice=notice,
        blogs=[b.name for b in config.blogs], **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    # The pages show private data: never cached, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'self'; img-src * data:; form-action 'self'; frame-ancestors 'none'"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def refused(request: web.Request, status: int, reason: str) -> None:
    """The one log record of a refused dashboard request (`admin.refused`)."""
    level = logging.WARNING if status in (401, 403, 429) else logging.INFO
    log.log(level, "admin.refused status=%d method=%s path=%s address=%s reason=%r", status, request.method,
            request.path, admin_auth.client_address(request), reason[:300])


def number_param(value: str | None, default: int) -> int:
    return admin_data.number(value, default)


async def read_form(request: web.Request) -> Any:
    """The POSTed form; None (refusal logged) when it is over the app's client_max_size."""
    try:
        return await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        refused(request, 413, exc.text or "the form is too large")
        return None


def too_large(request: web.Request) -> web.Response:
    response = web.Response(text="The form is too large.", status=413, content_type="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def secure_cookies(request: web.Request) -> bool:
    return urlsplit(request.app[CONFIG].server.base_url).scheme == "https"


def back(request: web.Request, to: str, code: str, n: int | None = None) -> web.HTTPSeeOther:
    query = {"done": code} | ({"n": str(n)} if n is not None else {})
    return web.HTTPSeeOther(f"{to}?{urlencode(query)}")


async def current_session(request: web.Request) -> Session | None:
    token = request.app[CONFIG].server.admin_token
    if not token:
        return None
    key = await admin_auth.signing_key(token)
    session = admin_auth.read_cookie(key, request.cookies.get(COOKIE))
    if session is None or await admin_auth.is_revoked(session):
        return None
    return session


def page(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Guard a page or action: a live session, and on POST its CSRF token."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not request.app[CONFIG].server.admin_token:
            return render(request, "disabled.html", status=503)
        session = await current_session(request)
        if session is None:
            if request.method == "POST":
                return render(request, "error.html", status=403, title="Not logged in",
                              reason="Your session has ended. Log in again, then repeat the action.")
            refused(request, 303, "not logged in: sent to the login form")
            raise web.HTTPSeeOther("/admin/login?" + urlencode({"next": request.path_qs}))
        if request.method == "POST":
            form = await read_form(request)
            if form is None:
                return too_large(request)
            if not admin_auth.check_csrf(session, field(form, "csrf")):
                return render(request, "error.html", status=403, title="Request refused",
                              reason="The form's security token is missing or wrong (CSRF check). "
                                     "Reload the page and try again.")
        return await handler(request, session)

    return guarded


def field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def stylesheet(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "admin.css", headers={"Cache-Control": "public, max-age=3600"})


@web.middleware
async def config_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A form naming a blog that is not configured: a 400 with the reason, nothing changed."""
    try:
        return await handler(request)
    except ConfigError as exc:
        if not request.path.startswith("/admin"):
            raise
        return render(request, "error.html", status=400, title="Bad request", reason=str(exc))
