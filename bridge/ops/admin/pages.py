"""The dashboard at /admin: server-rendered pages (Jinja2, autoescaped), no JavaScript.

A flow: each page reads through bridge/admin_data.py (and the followers, queue and
interactions modules) and each action calls the same functions as the command line.
Every page and action but the login form needs a session (bridge/admin_auth.py); every
POST carries the session's CSRF token. Actions answer with a redirect (POST/redirect/GET)
to the page they came from, with a short notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from bridge import __version__
from bridge.ops.admin import auth as admin_auth
from bridge.ops.admin import data as admin_data
from bridge.ops.admin.auth import COOKIE, LoginLimiter, Session
from bridge.appkeys import CONFIG
from bridge.core.clock import utcnow
from bridge.models import Job, JobState, RemoteHost
from bridge.jobs.store import retry_dead

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
    notice = NOTICES.get(done, "").format(n=_int(request.query.get("n"), 0)) if done else ""
    from bridge.ops.admin import interactions as admin_interactions

    context.setdefault("session", None)
    if template == "error.html" and status >= 400:
        refused(request, status, f"{context.get('title')}: {context.get('reason')}")
    html = request.app[JINJA].get_template(template).render(
        interactions_nav=admin_interactions.BUILT, version=__version__, base_url=config.server.base_url, path=request.path, notice=notice,
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


def _int(value: str | None, default: int) -> int:
    return admin_data.number(value, default)


async def _form(request: web.Request) -> Any:
    """The POSTed form; None (refusal logged) when it is over the app's client_max_size."""
    try:
        return await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        refused(request, 413, exc.text or "the form is too large")
        return None


def _too_large(request: web.Request) -> web.Response:
    response = web.Response(text="The form is too large.", status=413, content_type="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def _secure(request: web.Request) -> bool:
    return urlsplit(request.app[CONFIG].server.base_url).scheme == "https"


def _back(request: web.Request, to: str, code: str, n: int | None = None) -> web.HTTPSeeOther:
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
            form = await _form(request)
            if form is None:
                return _too_large(request)
            if not admin_auth.check_csrf(session, _field(form, "csrf")):
                return render(request, "error.html", status=403, title="Request refused",
                              reason="The form's security token is missing or wrong (CSRF check). "
                                     "Reload the page and try again.")
        return await handler(request, session)

    return guarded


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# -- login and logout -----------------------------------------------------------------


def _safe_next(value: str | None) -> str:
    """Only a path on the dashboard (never another site)."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"


async def login_form(request: web.Request, *, error: str = "", status: int = 200, next_path: str | None = None) -> web.Response:
    config = request.app[CONFIG]
    if not config.server.admin_token:
        return render(request, "disabled.html", status=503)
    if await current_session(request) is not None and not error:
        raise web.HTTPSeeOther("/admin")
    if status >= 400:
        refused(request, status, error)
    key = await admin_auth.signing_key(config.server.admin_token)
    nonce = request.cookies.get(LOGIN_COOKIE) or admin_auth.new_session(key, 1)[1].sid
    response = render(request, "login.html", status=status, error=error, csrf=admin_auth.csrf_token(key, "login:" + nonce),
                      next=_safe_next(next_path or request.query.get("next")), session=None)
    response.set_cookie(LOGIN_COOKIE, nonce, path="/admin/login", httponly=True, samesite="Strict",
                        secure=_secure(request), max_age=3600)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    if not config.server.admin_token:
        return render(request, "disabled.html", status=503)
    limiter = request.app[LIMITER]
    address = admin_auth.client_address(request)
    wait = await limiter.retry_after(address)
    if wait:
        response = await login_form(request, status=429,
                                    error=f"Too many failed attempts. Try again in {int(wait // 60) + 1} minutes.")
        response.headers["Retry-After"] = str(int(wait))
        return response
    form = await _form(request)
    if form is None:
        return _too_large(request)
    key = await admin_auth.signing_key(config.server.admin_token)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not admin_auth.check_csrf(Session("", 0, admin_auth.csrf_token(key, "login:" + nonce)),
                                              _field(form, "csrf")):
        return await login_form(request, status=403, error="The form expired (CSRF check). Please try again.",
                                next_path=_field(form, "next"))
    if not admin_auth.token_matches(config.server.admin_token, _field(form, "token")):
        await limiter.failed(address)
        return await login_form(request, status=401, error="That is not the admin token.",
                                next_path=_field(form, "next"))
    cookie, session = admin_auth.new_session(key, config.admin.session_hours)
    await admin_auth.prune_revoked(utcnow())
    log.info("admin.login address=%s session=%s", address, session.sid[:6])
    response = web.HTTPSeeOther(_safe_next(_field(form, "next")))
    response.set_cookie(COOKIE, cookie, path="/admin", httponly=True, samesite="Strict", secure=_secure(request),
                        max_age=int(session.expires - time.time()))
    response.del_cookie(LOGIN_COOKIE, path="/admin/login")
    raise response


@page
async def logout(request: web.Request, session: Session) -> web.StreamResponse:
    await admin_auth.revoke(session)
    log.info("admin.logout session=%s", session.sid[:6])
    response = web.HTTPSeeOther("/admin/login?done=logged_out")
    response.del_cookie(COOKIE, path="/admin")
    raise response


# -- pages ------------------------------------------------------------------------------


@page
async def overview_page(request: web.Request, session: Session) -> web.StreamResponse:
    config = request.app[CONFIG]
    from bridge.ops.admin import interactions as admin_interactions

    held = await admin_interactions.held_by_blog()
    blogs = await admin_data.overview(config, held)
    dead, _ = await admin_data.dead_jobs()
    hosts = [h for h in await admin_data.unavailable_hosts() if h.unavailable_since is not None]
    return render(request, "overview.html", session=session, overview=blogs, dead_count=len(dead), hosts=hosts,
                  interactions_built=held is not None)


@page
async def followers_page(request: web.Request, session: Session) -> web.StreamResponse:
    blog = request.query.get("blog") or None
    search = request.query.get("q", "").strip()
    offset = _int(request.query.get("offset"), 0)
    rows, total = await admin_data.followers(blog, search, offset)
    from bridge.ops.admin import interactions as admin_interactions

    from bridge.ops.interactions import blocked

    return render(request, "followers.html", session=session, rows=rows, total=total, q=search, blog=blog or "",
                  offset=offset, page_size=admin_data.PAGE, can_block=admin_interactions.BUILT, blocks=await blocked())


@page
async def remove_follower(request: web.Request, session: Session) -> web.StreamResponse:
    from bridge.ops.followers import decide

    form = await request.post()
    config = request.app[CONFIG]
    blog = _field(form, "blog") or None
    if not _field(form, "actor").strip():
        return render(request, "error.html", status=400, session=session, title="Bad request",
                      reason="Name a follower.")
    if blog is not None:
        config.blog(blog)  # a blog that is not configured: ConfigError → 400 below
    try:
        await decide(config, "remove", _field(form, "actor"), blog)
    except LookupError as exc:
        return render(request, "error.html", status=404, session=session, title="No such follower", reason=str(exc))
    raise _back(request, "/admin/followers", "removed")


@page
async def posts_page(request: web.Request, session: Session) -> web.StreamResponse:
    blog = request.query.get("blog") or None
    offset = _int(request.query.get("offset"), 0)
    rows, total = await admin_data.posts(request.app[CONFIG], blog, offset)
    return render(request, "posts.html", session=session, rows=rows, total=total, blog=blog or "", offset=offset,
                  page_size=admin_data.PAGE)


@page
async def post_page(request: web.Request, session: Session) -> web.StreamResponse:
    post_id = admin_data.row_id(request.match_info["id"])
    post, deliveries = await admin_data.post_deliveries(request.app[CONFIG], post_id) if post_id else (None, [])
    if post is None:
        return render(request, "error.html", status=404, session=session, title="No such post",
                      reason=f"There is no post {request.match_info['id'][:40]}.")
    return render(request, "post.html", session=session, post=post, title=admin_data._title(post.data),
                  deliveries=deliveries)


@page
async def redeliver(request: web.Request, session: Session) -> web.StreamResponse:
    post_id = admin_data.row_id(request.match_info["id"])
    post, deliveries = await admin_data.post_deliveries(request.app[CONFIG], post_id) if post_id else (None, [])
    if post_id is None or post is None:
        return render(request, "error.html", status=404, session=session, title="No such post",
                      reason=f"There is no post {request.match_info['id'][:40]}.")
    ids = [d.job_id for d in deliveries if d.state == JobState.DEAD.value]
    count = await retry_dead(ids) if ids else 0
    log.info("admin.redeliver post=%d jobs=%d", post_id, count)
    raise _back(request, f"/admin/posts/{post_id}", "redelivered" if count else "nothing", count)


@page
async def hosts_page(request: web.Request, session: Session) -> web.StreamResponse:
    return render(request, "hosts.html", session=session, hosts=await admin_data.unavailable_hosts())


@page
async def reset_host(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    host = _field(form, "host").strip()
    if not host:
        return render(request, "error.html", status=400, session=session, title="Bad request", reason="Name a host.")
    if not await RemoteHost.exists(host=host[:255]):
        return render(request, "error.html", status=404, session=session, title="No such host",
                      reason=f"No delivery to {host[:100]} has been recorded.")
    done = await admin_data.reset_host(host)
    raise _back(request, "/admin/hosts", "reset" if done else "nothing")


@page
async def jobs_page(request: web.Request, session: Session) -> web.StreamResponse:
    offset = _int(request.query.get("offset"), 0)
    jobs, total = await admin_data.dead_jobs(offset)
    return render(request, "jobs.html", session=session, jobs=jobs, total=total, offset=offset,
                  page_size=admin_data.PAGE)


@page
async def retry_jobs(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    which = _field(form, "job")
    if which == "all":
        count = await retry_dead()
    elif (job_id := admin_data.row_id(which)) is not None:
        if not await Job.exists(id=job_id):
            return render(request, "error.html", status=404, session=session, title="No such job",
                          reason=f"There is no job {job_id}.")
        count = await retry_dead([job_id])
    else:
        return render(request, "error.html", status=400, session=session, title="Bad request",
                      reason="Name a job id, or all.")
    log.info("admin.retry jobs=%s count=%d", which, count)
    raise _back(request, "/admin/jobs", "retried" if count else "nothing", count)


async def stylesheet(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "admin.css", headers={"Cache-Control": "public, max-age=3600"})


@web.middleware
async def config_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """A form naming a blog that is not configured: a 400 with the reason, nothing changed."""
    from bridge.config import ConfigError

    try:
        return await handler(request)
    except ConfigError as exc:
        if not request.path.startswith("/admin"):
            raise
        return render(request, "error.html", status=400, title="Bad request", reason=str(exc))


def add_routes(app: web.Application) -> None:
    from bridge.ops.admin import interactions as admin_interactions

    app[JINJA] = environment()
    config = app[CONFIG]
    app[LIMITER] = LoginLimiter(config.admin.login_attempts, config.admin.login_window_minutes * 60)
    app.middlewares.append(config_errors)
    r = app.router
    r.add_get("/admin", overview_page)
    r.add_get("/admin/", overview_page)
    r.add_get("/admin/login", login_form)
    r.add_post("/admin/login", login)
    r.add_post("/admin/logout", logout)
    r.add_get("/admin/followers", followers_page)
    r.add_post("/admin/followers/remove", remove_follower)
    r.add_get("/admin/posts", posts_page)
    r.add_get("/admin/posts/{id}", post_page)
    r.add_post("/admin/posts/{id}/redeliver", redeliver)
    r.add_get("/admin/hosts", hosts_page)
    r.add_post("/admin/hosts/reset", reset_host)
    r.add_get("/admin/jobs", jobs_page)
    r.add_post("/admin/jobs/retry", retry_jobs)
    r.add_get("/admin/static/admin.css", stylesheet)
    admin_interactions.add_routes(app, page, render, _back, _field)
