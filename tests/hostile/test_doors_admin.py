"""Bad input at the dashboard's forms (bridge/ops/admin/pages.py, bridge/ops/admin/interactions.py,
bridge/ops/admin/auth.py): the login form, every POST action, the pages that take an id.

Each case: the status (a 4xx, or 303 to the login form where that is the designed answer
to a request without a session), the reason (a fragment of the one `admin.refused` log
record), exactly one `admin.refused` record, and every row of every table unchanged —
except a wrong admin token, which is designed to count one `LoginFailure` row (the login
limit), and nothing else. The app is real (aiohttp on 127.0.0.1); sessions and login
nonces are minted with the install's own key, as the login form would."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.config import load_config
from bridge.core.clock import utcnow
from bridge.models import (
    Follower,
    Interaction,
    InteractionKind,
    InteractionState,
    Job,
    JobState,
    RemoteHost,
    RevokedSession,
)
from bridge.ops.admin import auth as admin_auth
from bridge.ops.admin.auth import COOKIE
from bridge.ops.admin.pages import LOGIN_COOKIE
from tests.admin_seed import TOKEN
from tests.hostile.table import Case, assert_logged_once, ids, record, refusals, snapshot, watch

EVENT = "admin.refused"
FOLLOWER = "https://social.example/users/alice"
BIG = "x" * (1024 * 1024 + 10)


@dataclass
class World:
    client: TestClient
    key: bytes
    interaction: int
    job: int


@pytest.fixture
async def world(write_config: Any) -> AsyncIterator[World]:
    config = load_config(write_config(), env={"BRIDGE_ADMIN_TOKEN": TOKEN})
    server = TestServer(make_app(config, workers=False), host="127.0.0.1")
    # No cookie jar: each case sends exactly the cookies it means to.
    client = TestClient(server, cookie_jar=aiohttp.DummyCookieJar())
    await client.start_server()
    try:
        key = await admin_auth.signing_key(TOKEN)
        await Follower.create(blog="blog", actor_uri=FOLLOWER, inbox=FOLLOWER + "/inbox")
        held = await Interaction.create(
            blog="blog", kind=InteractionKind.REPLY, object_id="https://social.example/notes/1", actor_uri=FOLLOWER,
            host="social.example", target_url="http://127.0.0.1:9/2025/01/02/hello/", state=InteractionState.HELD,
            published=utcnow(), content="<p>hello</p>")
        dead = await Job.create(kind="deliver", payload={"inbox": FOLLOWER + "/inbox"}, state=JobState.DEAD,
                                run_after=utcnow(), attempts=9, last_error="HTTP 500", finished_at=utcnow())
        await RemoteHost.create(host="social.example", failures=3, unavailable_since=utcnow() - timedelta(days=8),
                                last_error="HTTP 500")
        yield World(client, key, held.id, dead.id)
    finally:
        await client.close()


# `send`: (method, path, form or raw body); options: session ("live" by default, "none",
# "tampered", "expired", "revoked", "other install", "garbage", "unicode"), csrf ("own" by
# default, "none", "forged", "other session", "unicode", "empty"), headers, login=True (a
# login form's nonce cookie and CSRF token instead of a session), counted=True (a failed
# login: one LoginFailure row is the designed change).
def post(path: str, form: dict[str, str] | None = None, **options: Any) -> dict[str, Any]:
    return {"send": ("POST", path, dict(form or {})), "options": options}


def get(path: str, **options: Any) -> dict[str, Any]:
    return {"send": ("GET", path, None), "options": options}


def case(name: str, status: int, reason: str, spec: dict[str, Any]) -> Case:
    return Case(name, status, reason, spec["send"], spec["options"])


ACTIONS: list[tuple[str, str, dict[str, str]]] = [
    ("logout", "/admin/logout", {}),
    ("remove follower", "/admin/followers/remove", {"actor": FOLLOWER, "blog": "blog"}),
    ("block", "/admin/followers/block", {"actor": FOLLOWER}),
    ("unblock", "/admin/followers/unblock", {"pattern": "social.example"}),
    ("redeliver", "/admin/posts/1/redeliver", {}),
    ("reset host", "/admin/hosts/reset", {"host": "social.example"}),
    ("retry job", "/admin/jobs/retry", {"job": "{job}"}),
    ("retry all jobs", "/admin/jobs/retry", {"job": "all"}),
    ("approve interaction", "/admin/interactions/{interaction}/approve", {}),
    ("reject interaction", "/admin/interactions/{interaction}/reject", {}),
]
LOGIN = "/admin/login"
CSRF_REFUSED = "CSRF check"
NOT_LOGGED_IN = "Not logged in"

CASES: list[Case] = [
    # -- the login form
    case("login with a wrong token", 401, "not the admin token", post(LOGIN, {"token": "guess"}, login=True, counted=True)),
    case("login with an empty token", 401, "not the admin token", post(LOGIN, {"token": ""}, login=True, counted=True)),
    case("login without a token field", 401, "not the admin token", post(LOGIN, {}, login=True, counted=True)),
    case("login with a 900 kB token", 401, "not the admin token",
         post(LOGIN, {"token": "a" * 900_000}, login=True, counted=True)),
    case("login with a look-alike token (Cyrillic a)", 401, "not the admin token",
         post(LOGIN, {"token": TOKEN.replace("a", "\u0430")}, login=True, counted=True)),
    case("login with the token and a NUL", 401, "not the admin token",
         post(LOGIN, {"token": TOKEN + "\x00"}, login=True, counted=True)),
    case("login with the token plus a newline", 401, "not the admin token",
         post(LOGIN, {"token": TOKEN + "\n"}, login=True, counted=True)),
    case("login with the right token, no CSRF", 403, "form expired", post(LOGIN, {"token": TOKEN}, login=True, csrf="none")),
    case("login with the right token, forged CSRF", 403, "form expired",
         post(LOGIN, {"token": TOKEN}, login=True, csrf="forged")),
    case("login with the right token, non-ASCII CSRF", 403, "form expired",
         post(LOGIN, {"token": TOKEN}, login=True, csrf="unicode")),
    case("login with the right token, no nonce cookie", 403, "form expired",
         post(LOGIN, {"token": TOKEN}, login=True, nonce="none")),
    case("login with another nonce's CSRF", 403, "form expired",
         post(LOGIN, {"token": TOKEN}, login=True, csrf="other session")),
    case("login form over 1 MB", 413, "Maximum request body size", post(LOGIN, {"token": TOKEN, "pad": BIG}, login=True)),
    case("login as JSON", 403, "form expired",
         {"send": ("POST", LOGIN, None), "options": {"login": True, "json": {"token": TOKEN}}}),
    # -- every action without a session, with a tampered, expired, revoked or foreign one
    *[case(f"{name} without a session", 403, NOT_LOGGED_IN, post(path, form, session="none"))
      for name, path, form in ACTIONS],
    case("remove follower with a tampered cookie", 403, NOT_LOGGED_IN,
         post("/admin/followers/remove", {"actor": FOLLOWER}, session="tampered")),
    case("remove follower with an expired cookie", 403, NOT_LOGGED_IN,
         post("/admin/followers/remove", {"actor": FOLLOWER}, session="expired")),
    case("remove follower with a revoked cookie", 403, NOT_LOGGED_IN,
         post("/admin/followers/remove", {"actor": FOLLOWER}, session="revoked")),
    case("remove follower with another install's cookie", 403, NOT_LOGGED_IN,
         post("/admin/followers/remove", {"actor": FOLLOWER}, session="other install")),
    case("retry all jobs with a garbage cookie", 403, NOT_LOGGED_IN, post("/admin/jobs/retry", {"job": "all"}, session="garbage")),
    case("retry all jobs with a non-ASCII signature", 403, NOT_LOGGED_IN,
         post("/admin/jobs/retry", {"job": "all"}, session="unicode")),
    case("approve with an expiry pushed forward", 403, NOT_LOGGED_IN,
         post("/admin/interactions/{interaction}/approve", session="extended")),
    case("overview without a session", 303, "not logged in", get("/admin", session="none")),
    case("jobs page with an expired cookie", 303, "not logged in", get("/admin/jobs", session="expired")),
    case("interactions page with a revoked cookie", 303, "not logged in", get("/admin/interactions", session="revoked")),
    # -- CSRF on every action: missing, forged, another session's, not ASCII
    *[case(f"{name} without CSRF", 403, CSRF_REFUSED, post(path, form, csrf="none")) for name, path, form in ACTIONS],
    *[case(f"{name} with a forged CSRF", 403, CSRF_REFUSED, post(path, form, csrf="forged")) for name, path, form in ACTIONS],
    *[case(f"{name} with another session's CSRF", 403, CSRF_REFUSED, post(path, form, csrf="other session"))
      for name, path, form in ACTIONS],
    case("remove follower with an empty CSRF", 403, CSRF_REFUSED,
         post("/admin/followers/remove", {"actor": FOLLOWER}, csrf="empty")),
    case("remove follower with a non-ASCII CSRF", 403, CSRF_REFUSED,
         post("/admin/followers/remove", {"actor": FOLLOWER}, csrf="unicode")),
    case("retry all jobs with the CSRF in the query string", 403, CSRF_REFUSED,
         post("/admin/jobs/retry?csrf={csrf}", {"job": "all"}, csrf="none")),
    # -- wrong content types and oversized forms
    case("retry all jobs as JSON", 403, CSRF_REFUSED,
         {"send": ("POST", "/admin/jobs/retry", None), "options": {"json": {"job": "all", "csrf": "{csrf}"}}}),
    case("retry all jobs as text/plain", 403, CSRF_REFUSED,
         {"send": ("POST", "/admin/jobs/retry", "job=all&csrf={csrf}"),
          "options": {"headers": {"Content-Type": "text/plain"}}}),
    case("remove follower over 1 MB", 413, "Maximum request body size",
         post("/admin/followers/remove", {"actor": FOLLOWER, "pad": BIG})),
    case("block with a 1 MB actor", 413, "Maximum request body size", post("/admin/followers/block", {"actor": BIG})),
    # -- bad ids: followers
    case("remove follower, no actor", 400, "Name a follower", post("/admin/followers/remove", {})),
    case("remove follower, blank actor", 400, "Name a follower", post("/admin/followers/remove", {"actor": "   "})),
    case("remove follower, unknown actor", 404, "No such follower",
         post("/admin/followers/remove", {"actor": "https://social.example/users/nobody"})),
    case("remove follower, unknown blog", 400, "Bad request", post("/admin/followers/remove", {"actor": FOLLOWER, "blog": "nope"})),
    case("remove follower, actor with a newline", 404, "No such follower",
         post("/admin/followers/remove", {"actor": FOLLOWER + "\nadmin.login ok"})),
    case("block, no actor", 400, "Cannot block", post("/admin/followers/block", {})),
    case("block, not a URL or domain", 400, "Cannot block", post("/admin/followers/block", {"actor": "not a thing"})),
    case("unblock, no pattern", 400, "Cannot unblock", post("/admin/followers/unblock", {})),
    # -- bad ids: interactions
    *[case(f"approve interaction, id {label}", 404, "No such action", post(f"/admin/interactions/{raw}/approve"))
      for label, raw in (("not a number", "abc"), ("negative", "-1"), ("zero", "0"), ("30 digits", "9" * 30),
                         ("2^63", str(2**63)), ("superscript two", "%C2%B2"), ("Arabic-Indic", "%D9%A1%D9%A2"),
                         ("fullwidth", "%EF%BC%91"), ("float", "1.5"), ("with a space", "1%20"))],
    case("approve interaction, unknown id", 404, "No such interaction", post("/admin/interactions/999999/approve")),
    case("approve interaction, largest id", 404, "No such interaction", post(f"/admin/interactions/{2**63 - 1}/approve")),
    case("interaction, unknown action", 404, "No such action", post("/admin/interactions/{interaction}/delete")),
    case("resend a held interaction", 409, "Not done", post("/admin/interactions/{interaction}/resend")),
    # -- bad ids: jobs
    *[case(f"retry job, id {label}", 400, "Name a job id", post("/admin/jobs/retry", {"job": raw}))
      for label, raw in (("missing", None), ("empty", ""), ("not a number", "abc"), ("negative", "-1"), ("zero", "0"),
                         ("30 digits", "9" * 30), ("2^63", str(2**63)), ("superscript two", "\u00b2"),
                         ("Arabic-Indic", "\u0661\u0662"), ("ALL in capitals", "ALL"), ("SQL", "1 OR 1=1"))],
    case("retry job, unknown id", 404, "No such job", post("/admin/jobs/retry", {"job": "999999"})),
    # -- bad ids: hosts
    case("reset host, no host", 400, "Name a host", post("/admin/hosts/reset", {})),
    case("reset host, blank host", 400, "Name a host", post("/admin/hosts/reset", {"host": "  "})),
    case("reset host, unknown host", 404, "No such host", post("/admin/hosts/reset", {"host": "nowhere.example"})),
    case("reset host, 10 kB host", 404, "No such host", post("/admin/hosts/reset", {"host": "a" * 10_000})),
    case("reset host, look-alike host (Cyrillic)", 404, "No such host",
         post("/admin/hosts/reset", {"host": "s\u043ecial.example"})),
    # -- bad ids: posts
    *[case(f"redeliver post, id {label}", 404, "No such post", post(f"/admin/posts/{raw}/redeliver"))
      for label, raw in (("not a number", "abc"), ("negative", "-1"), ("30 digits", "9" * 30),
                         ("superscript two", "%C2%B2"), ("Arabic-Indic", "%D9%A1%D9%A2"), ("unknown", "424242"))],
    *[case(f"post page, id {label}", 404, "No such post", get(f"/admin/posts/{raw}"))
      for label, raw in (("30 digits", "9" * 30), ("superscript two", "%C2%B2"), ("2^63", str(2**63)))],
]


def _other_session_csrf(world: World) -> str:
    return admin_auth.new_session(world.key, 1)[1].csrf


async def _cookie(world: World, mode: str) -> str | None:
    cookie, session = admin_auth.new_session(world.key, 1)
    if mode == "live":
        return cookie
    sid, expires, mac = cookie.split(".")
    if mode == "none":
        return None
    if mode == "tampered":
        return f"{sid}.{expires}.{mac[:-1]}{'0' if mac[-1] != '0' else '1'}"
    if mode == "extended":
        return f"{sid}.{int(expires) + 10**6}.{mac}"
    if mode == "expired":
        return admin_auth.new_session(world.key, 1, now=time.time() - 7200)[0]
    if mode == "revoked":
        await admin_auth.revoke(session)  # before the snapshot: the revocation is the world, not the change
        return cookie
    if mode == "other install":
        return admin_auth.new_session(b"another install's key 32 bytes!!", 1)[0]
    if mode == "garbage":
        return "not-a-session"
    if mode == "unicode":
        return f"{sid}.{expires}.{mac[:-1]}\u00e9"
    raise AssertionError(mode)


async def prepare(world: World, case: Case) -> tuple[str, str, dict[str, Any]]:
    """The request of a case (a revoked session is revoked here, before the snapshot)."""
    method, path, body = case.send
    opts = case.options
    cookies: dict[str, str] = {}
    if opts.get("login"):
        nonce = "nonce-for-this-case"
        if opts.get("nonce") != "none":
            cookies[LOGIN_COOKIE] = nonce
        own = admin_auth.csrf_token(world.key, "login:" + nonce)
    else:
        cookie = await _cookie(world, opts.get("session", "live"))
        if cookie is not None:
            cookies[COOKIE] = cookie
            session = admin_auth.read_cookie(world.key, cookie)
            own = session.csrf if session else _other_session_csrf(world)
        else:
            own = _other_session_csrf(world)
    csrf = {"own": own, "none": None, "empty": "", "forged": "0" * 64, "unicode": own[:-1] + "\u00e9",
            "other session": admin_auth.csrf_token(world.key, "login:another-nonce") if opts.get("login")
            else _other_session_csrf(world)}[opts.get("csrf", "own")]

    def fill(value: str) -> str:
        return value.replace("{interaction}", str(world.interaction)).replace("{job}", str(world.job)) \
            .replace("{csrf}", own)

    path = fill(path)
    headers = {**opts.get("headers", {})}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
    if "json" in opts:
        kwargs["json"] = {k: fill(v) for k, v in opts["json"].items()}
    elif isinstance(body, str):
        kwargs["data"] = fill(body).encode()
    elif body is not None:
        form = {k: fill(v) for k, v in body.items() if v is not None}
        if csrf is not None:
            form["csrf"] = csrf
        kwargs["data"] = form
    return method, path, kwargs


async def perform(world: World, case: Case) -> aiohttp.ClientResponse:
    method, path, kwargs = await prepare(world, case)
    return await world.client.request(method, path, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
async def test_admin_door_refuses(world: World, caplog: pytest.LogCaptureFixture, case: Case) -> None:
    watch(caplog, "bridge.admin")
    method, path, kwargs = await prepare(world, case)
    if case.options.get("session") == "revoked":
        assert await RevokedSession.exists()
    before = await snapshot()
    caplog.clear()
    response = await world.client.request(method, path, **kwargs)
    text = await response.text()
    after = await snapshot()
    lines = refusals(caplog, EVENT)
    counted = case.options.get("counted", False)
    compare_after = {k: v for k, v in after.items() if not (counted and k == "LoginFailure")}
    compare_before = {k: v for k, v in before.items() if not (counted and k == "LoginFailure")}
    unchanged = compare_after == compare_before and (
        not counted or len(after["LoginFailure"]) == len(before["LoginFailure"]) + 1)
    record("admin forms", case, got_status=response.status, got_reason=lines[0].split("reason=", 1)[-1] if lines else "",
           detail=f"{case.send[0]} {case.send[1][:80]}", db_unchanged=unchanged)
    assert response.status == case.status, text[:500]
    if case.status == 303:
        assert response.headers["Location"].startswith("/admin/login?next="), response.headers["Location"]
    assert_logged_once(caplog, EVENT, case.reason)
    assert f"status={case.status}" in lines[0]
    assert "Traceback" not in caplog.text
    assert unchanged, (before, after)


async def test_a_live_session_with_its_csrf_still_works(world: World) -> None:
    """The table's baseline: the same request with the right session and token is done."""
    response = await perform(world, case("retry the dead job", 303, "", post("/admin/jobs/retry", {"job": "{job}"})))
    assert response.status == 303 and "done=retried" in response.headers["Location"]
    assert (await Job.get(id=world.job)).state is JobState.QUEUED
