"""The dashboard at /admin: server-rendered pages (Jinja2, autoescaped), no JavaScript.

A flow: each page reads through bridge/ops/admin/data.py (and the followers, jobs and
interactions modules) and each action calls the same functions as the command line.
Every page and action but the login form needs a session (bridge/ops/admin/auth.py); every
POST carries the session's CSRF token. Actions answer with a redirect (POST/redirect/GET)
to the page they came from, with a short notice.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from bridge.appkeys import CONFIG
from bridge.core.clock import utcnow
from bridge.jobs.store import retry_dead
from bridge.models import Job, JobState, RemoteHost
from bridge.ops.admin import auth as admin_auth
from bridge.ops.admin import data as admin_data
from bridge.ops.admin import history as admin_history
from bridge.ops.admin import interactions as admin_interactions
from bridge.ops.admin.auth import COOKIE, LoginLimiter, Session
from bridge.ops.admin.web import (
    JINJA,
    LIMITER,
    LOGIN_COOKIE,
    back,
    config_errors,
    current_session,
    environment,
    field,
    number_param,
    page,
    read_form,
    refused,
    render,
    secure_cookies,
    stylesheet,
    too_large,
)
from bridge.ops.followers import decide
from bridge.ops.interactions import blocked

log = logging.getLogger("bridge.admin")

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
                        secure=secure_cookies(request), max_age=3600)
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
    form = await read_form(request)
    if form is None:
        return too_large(request)
    key = await admin_auth.signing_key(config.server.admin_token)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not admin_auth.check_csrf(Session("", 0, admin_auth.csrf_token(key, "login:" + nonce)),
                                              field(form, "csrf")):
        return await login_form(request, status=403, error="The form expired (CSRF check). Please try again.",
                                next_path=field(form, "next"))
    if not admin_auth.token_matches(config.server.admin_token, field(form, "token")):
        await limiter.failed(address)
        return await login_form(request, status=401, error="That is not the admin token.",
                                next_path=field(form, "next"))
    cookie, session = admin_auth.new_session(key, config.admin.session_hours)
    await admin_auth.prune_revoked(utcnow())
    log.info("admin.login address=%s session=%s", address, session.sid[:6])
    response = web.HTTPSeeOther(_safe_next(field(form, "next")))
    response.set_cookie(COOKIE, cookie, path="/admin", httponly=True, samesite="Strict", secure=secure_cookies(request),
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
    held = await admin_interactions.held_by_blog()
    blogs = await admin_data.overview(config, held)
    kinds, emoji = await admin_interactions.by_kind(), await admin_interactions.top_emoji()
    for blog in blogs:
        blog.interactions, blog.reactions = kinds.get(blog.name, {}), emoji.get(blog.name, [])
    dead, _ = await admin_data.dead_jobs()
    hosts = [h for h in await admin_data.unavailable_hosts() if h.unavailable_since is not None]
    return render(request, "overview.html", session=session, overview=blogs, dead_count=len(dead), hosts=hosts,
                  history=await admin_history.history(config, {b.name: b.followers for b in blogs}))


@page
async def followers_page(request: web.Request, session: Session) -> web.StreamResponse:
    blog = request.query.get("blog") or None
    search = request.query.get("q", "").strip()
    offset = number_param(request.query.get("offset"), 0)
    rows, total = await admin_data.followers(blog, search, offset)
    return render(request, "followers.html", session=session, rows=rows, total=total, q=search, blog=blog or "",
                  offset=offset, page_size=admin_data.PAGE, blocks=await blocked())


@page
async def remove_follower(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    config = request.app[CONFIG]
    blog = field(form, "blog") or None
    if not field(form, "actor").strip():
        return render(request, "error.html", status=400, session=session, title="Bad request",
                      reason="Name a follower.")
    if blog is not None:
        config.blog(blog)  # a blog that is not configured: ConfigError → 400 below
    try:
        await decide(config, "remove", field(form, "actor"), blog)
    except LookupError as exc:
        return render(request, "error.html", status=404, session=session, title="No such follower", reason=str(exc))
    raise back(request, "/admin/followers", "removed")


@page
async def posts_page(request: web.Request, session: Session) -> web.StreamResponse:
    blog = request.query.get("blog") or None
    offset = number_param(request.query.get("offset"), 0)
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
    raise back(request, f"/admin/posts/{post_id}", "redelivered" if count else "nothing", count)


@page
async def hosts_page(request: web.Request, session: Session) -> web.StreamResponse:
    return render(request, "hosts.html", session=session, hosts=await admin_data.unavailable_hosts())


@page
async def reset_host(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    host = field(form, "host").strip()
    if not host:
        return render(request, "error.html", status=400, session=session, title="Bad request", reason="Name a host.")
    if not await RemoteHost.exists(host=host[:255]):
        return render(request, "error.html", status=404, session=session, title="No such host",
                      reason=f"No delivery to {host[:100]} has been recorded.")
    done = await admin_data.reset_host(host)
    raise back(request, "/admin/hosts", "reset" if done else "nothing")


@page
async def jobs_page(request: web.Request, session: Session) -> web.StreamResponse:
    offset = number_param(request.query.get("offset"), 0)
    jobs, total = await admin_data.dead_jobs(offset)
    return render(request, "jobs.html", session=session, jobs=jobs, total=total, offset=offset,
                  page_size=admin_data.PAGE)


@page
async def retry_jobs(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    which = field(form, "job")
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
    raise back(request, "/admin/jobs", "retried" if count else "nothing", count)


def add_routes(app: web.Application) -> None:
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
    admin_interactions.add_routes(app)
