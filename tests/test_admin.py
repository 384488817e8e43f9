"""The dashboard's rules over plain HTTP: no token → no login; the login limit; the session
cookie's flags; sessions signed per install and ended by logout; the login form's CSRF."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.config import load_config
from bridge.core.clock import utcnow
from bridge.models import Job, LoginFailure, RevokedSession
from bridge.ops.admin import auth as admin_auth

from .admin_seed import TOKEN


async def open_client(write_config: Any, env: dict[str, str], extra: str = "") -> TestClient:
    config = load_config(write_config(extra), env=env)  # base_url is https://bridge.example
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = TestServer(make_app(config, workers=False), host="127.0.0.1", port=port)
    # The cookies are Secure (an https base_url, behind a TLS proxy): this client talks
    # plain HTTP to the app, so it treats the test server as a secure origin, as the proxy would be.
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[f"http://127.0.0.1:{port}"])
    client = TestClient(server, cookie_jar=jar)
    await client.start_server()
    return client


@pytest.fixture
async def client(write_config: Any) -> AsyncIterator[TestClient]:
    c = await open_client(write_config, {"BRIDGE_ADMIN_TOKEN": TOKEN}, "[admin]\nlogin_attempts = 3\n")
    yield c
    await c.close()


async def login_csrf(client: TestClient) -> str:
    page = await (await client.get("/admin/login")).text()
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


async def test_no_admin_token_means_no_dashboard(write_config: Any) -> None:
    client = await open_client(write_config, {})
    try:
        page = await client.get("/admin")
        assert page.status == 503 and "No admin token is configured" in await page.text()
        refused = await client.post("/admin/login", data={"token": ""})
        assert refused.status == 503
        assert (await client.get("/admin/jobs")).status == 503
    finally:
        await client.close()


async def test_login_sets_a_strict_httponly_secure_cookie_on_https(client: TestClient) -> None:
    csrf = await login_csrf(client)
    response = await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf, "next": "/admin/jobs"},
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/admin/jobs"
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("bridge_admin="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie and "Path=/admin" in cookie


async def test_login_needs_the_forms_csrf_token_and_goes_nowhere_else(client: TestClient) -> None:
    response = await client.post("/admin/login", data={"token": TOKEN}, allow_redirects=False)
    assert response.status == 403 and "CSRF" in await response.text()
    csrf = await login_csrf(client)
    response = await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf, "next": "//evil.example/"},
                                 allow_redirects=False)
    assert response.headers["Location"] == "/admin"


async def test_failed_logins_are_limited_per_address(client: TestClient) -> None:
    csrf = await login_csrf(client)
    for _ in range(3):
        response = await client.post("/admin/login", data={"token": "guess", "csrf": csrf})
        assert response.status == 401
    limited = await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf})
    assert limited.status == 429 and "Too many failed attempts" in await limited.text()
    assert int(limited.headers["Retry-After"]) > 0
    # Another client address (behind the proxy on loopback) is not limited.
    other = await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf},
                              headers={"X-Forwarded-For": "203.0.113.9"}, allow_redirects=False)
    assert other.status == 303


async def test_failed_logins_elsewhere_count_here(client: TestClient) -> None:
    """A password spray spread over several bridge processes: the failures another process
    recorded (its own limiter, the same database) limit this one too."""
    other_process = admin_auth.LoginLimiter(attempts=3, window_seconds=15 * 60)
    for _ in range(3):
        await other_process.failed("198.51.100.7")
    csrf = await login_csrf(client)
    limited = await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf},
                                headers={"X-Forwarded-For": "198.51.100.7"})
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
    # Only from a proxy on loopback is X-Forwarded-For believed: the limited address is not
    # 127.0.0.1, which still gets in.
    assert await other_process.retry_after("127.0.0.1") == 0


async def test_the_login_window_slides_and_old_failures_are_forgotten(client: TestClient) -> None:
    start = utcnow()
    now = [start]
    limiter = admin_auth.LoginLimiter(attempts=2, window_seconds=600, clock=lambda: now[0])
    await limiter.failed("192.0.2.1")
    now[0] = start + timedelta(seconds=100)
    await limiter.failed("192.0.2.1")
    assert await limiter.retry_after("192.0.2.1") == 500  # until the first failure leaves the window
    now[0] = start + timedelta(seconds=600)
    assert await limiter.retry_after("192.0.2.1") == 0
    await limiter.failed("192.0.2.2")  # any failure prunes every address's stale ones
    assert await LoginFailure.filter(address="192.0.2.1").count() == 1


def test_sessions_are_signed_expire_and_are_bound_to_the_key() -> None:
    key, other = b"k" * 32, b"o" * 32
    cookie, session = admin_auth.new_session(key, hours=1, now=1000.0)
    assert admin_auth.read_cookie(key, cookie, now=1001.0) == session
    assert admin_auth.read_cookie(other, cookie, now=1001.0) is None  # another install or admin token
    assert admin_auth.read_cookie(key, cookie, now=1000.0 + 3600) is None  # expired
    sid, expires, mac = cookie.split(".")
    assert admin_auth.read_cookie(key, f"{sid}.{int(expires) + 99999}.{mac}", now=1001.0) is None  # tampered
    assert session.csrf != admin_auth.new_session(key, hours=1)[1].csrf  # one CSRF token per session
    assert not admin_auth.check_csrf(session, "") and admin_auth.check_csrf(session, session.csrf)


async def test_logout_revokes_the_session_for_every_process(client: TestClient) -> None:
    csrf = await login_csrf(client)
    await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf}, allow_redirects=False)
    page = await client.get("/admin", allow_redirects=False)
    assert page.status == 200
    session_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', await page.text())
    assert session_csrf
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/admin"))["bridge_admin"].value
    out = await client.post("/admin/logout", data={"csrf": session_csrf.group(1)}, allow_redirects=False)
    assert out.status == 303
    # The old cookie, replayed, is refused: the revocation is in the database, not in this process.
    replay = await client.get("/admin", headers={"Cookie": f"bridge_admin={cookie}"}, allow_redirects=False)
    assert replay.status == 303 and replay.headers["Location"].startswith("/admin/login")
    revoked = await RevokedSession.get(sid=cookie.split(".")[0])
    assert revoked.expires_at.timestamp() == int(cookie.split(".")[1])
    assert not await Job.exists()  # a revocation is not a job


async def test_revocations_are_pruned_once_their_sessions_expire(client: TestClient) -> None:
    await RevokedSession.create(sid="expired", expires_at=utcnow() - timedelta(seconds=1))
    await RevokedSession.create(sid="current", expires_at=utcnow() + timedelta(hours=1))
    csrf = await login_csrf(client)
    response = await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    assert await RevokedSession.all().values_list("sid", flat=True) == ["current"]


def test_admin_config_keys_default_as_documented_and_name_the_key_when_wrong(write_config: Any) -> None:
    from pathlib import Path

    from bridge.config import AdminConfig, ConfigError

    example = load_config(Path(__file__).resolve().parent.parent / "config.example.toml", env={})
    assert example.admin == AdminConfig()
    for extra, key in (('[admin]\nmetrics_listen = "nowhere"\n', "admin.metrics_listen"),
                       ("[admin]\nsession_hours = 0\n", "admin.session_hours"),
                       ("[admin]\nlogin_attempts = -1\n", "admin.login_attempts"),
                       ("[admin]\nsessions = 3\n", "admin.sessions")):
        with pytest.raises(ConfigError) as info:
            load_config(write_config(extra), env={})
        assert info.value.key == key
    config = load_config(write_config('[admin]\nmetrics_listen = "127.0.0.1:9108"\n'), env={})
    assert (config.admin.metrics_host, config.admin.metrics_port) == ("127.0.0.1", 9108)


# -- reactions and quotes: their own kinds, the emoji as text ----------------------------


async def logged_in(client: TestClient) -> str:
    """Log in; the session's CSRF token."""
    csrf = await login_csrf(client)
    response = await client.post("/admin/login", data={"token": TOKEN, "csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', await (await client.get("/admin")).text())
    assert match
    return match.group(1)


def listed(page: str) -> dict[int, str]:
    """The interactions page's rows: id -> the row's HTML."""
    parts = re.split(r'<li class="item interaction" id="interaction-(\d+)">', page)
    return {int(parts[i]): parts[i + 1].split("</li>")[0] for i in range(1, len(parts), 2)}


def badge(row: str) -> str:
    match = re.search(r'<span class="badge [a-z]+ kind">([^<]*)</span>', row)
    assert match, row
    return match.group(1)


async def test_reactions_and_quotes_show_as_their_own_kinds(client: TestClient) -> None:
    from .admin_seed import seed_kinds

    await logged_in(client)
    ids = await seed_kinds()
    page = await (await client.get("/admin/interactions")).text()
    rows = listed(page)
    assert set(rows) == set(ids.values())
    assert {name: badge(rows[i]) for name, i in ids.items()} == {
        "reply": "reply", "like": "like", "old_like": "like", "reaction": "reaction",
        "hostile_reaction": "reaction", "repost": "repost", "quote": "quote"}
    assert '<bdi class="reacji" title="the emoji it reacts with">🎉</bdi>' in rows[ids["reaction"]]
    assert "reacji" not in rows[ids["like"]] and "reacji" not in rows[ids["old_like"]]
    quote = rows[ids["quote"]]
    assert "Worth reading" in quote and "quoting <a href=\"https://blog.example/2026/a-post/\">" in quote
    # The kind tabs count what they select: a reaction is not counted as a like.
    tabs = dict(re.findall(r'>(reply|like|reaction|repost|quote) <span class="count">(\d+)</span>', page))
    assert tabs == {"reply": "1", "like": "2", "reaction": "2", "repost": "1", "quote": "1"}


async def test_a_reaction_emoji_holding_markup_renders_inert(client: TestClient) -> None:
    from .admin_seed import HOSTILE_EMOJI, seed_kinds

    await logged_in(client)
    ids = await seed_kinds()
    for path in ("/admin/interactions", "/admin/interactions?kind=reaction", "/admin"):
        page = await (await client.get(path)).text()
        assert "<img src=x" not in page and "onerror=alert(1)>" not in page, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, path
    row = listed(await (await client.get("/admin/interactions")).text())[ids["hostile_reaction"]]
    assert badge(row) == "reaction"
    assert f'<bdi class="reacji" title="the emoji it reacts with">{HOSTILE_EMOJI.replace("<", "&lt;").replace(">", "&gt;")}</bdi>' in row


@pytest.mark.parametrize("kind", ["reply", "like", "reaction", "repost", "quote"])
async def test_the_kind_filter_selects_exactly_its_rows(client: TestClient, kind: str) -> None:
    from .admin_seed import KIND_ROWS, seed_kinds

    await logged_in(client)
    ids = await seed_kinds()
    await seed_kinds(blog="other", target="https://other.example/p/")  # the blog filter still holds
    page = await (await client.get(f"/admin/interactions?kind={kind}&blog=blog")).text()
    rows = listed(page)
    assert set(rows) == {ids[name] for name in KIND_ROWS[kind]}
    assert {badge(row) for row in rows.values()} == {kind}
    assert re.search(rf'<a href="/admin/interactions\?kind={kind}&amp;blog=blog" aria-current="page">{kind} ', page)


async def test_kind_and_held_together_and_back_after_an_action(client: TestClient) -> None:
    from bridge.models import Interaction, InteractionState

    from .admin_seed import seed_kinds

    csrf = await logged_in(client)
    ids = await seed_kinds()
    await Interaction.filter(id__in=[ids["quote"], ids["reply"]]).update(state=InteractionState.HELD)
    rows = listed(await (await client.get("/admin/interactions?held=1&kind=quote")).text())
    assert list(rows) == [ids["quote"]]
    assert '<input type="hidden" name="kind" value="quote">' in rows[ids["quote"]]
    done = await client.post(f"/admin/interactions/{ids['quote']}/approve",
                             data={"csrf": csrf, "held": "1", "kind": "quote"}, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/admin/interactions?done=approved&held=1&kind=quote"
    page = await (await client.get(done.headers["Location"])).text()
    assert listed(page) == {} and "Nothing of the kind “quote” is held." in page
    assert (await Interaction.get(id=ids["quote"])).state is InteractionState.PUBLISHED
    # A word that is no kind: refused, with the kinds named; nothing else is listed in its stead.
    bad = await client.get("/admin/interactions?kind=%3Cscript%3E")
    assert bad.status == 400 and "one of reply, like, reaction, repost, quote" in await bad.text()
    assert "<script>" not in await bad.text()


async def test_the_overview_counts_each_kind_with_the_reactions_emoji(client: TestClient) -> None:
    from bridge.models import Interaction, InteractionKind

    from .admin_seed import seed_kinds

    await logged_in(client)
    ids = await seed_kinds()
    base = await Interaction.get(id=ids["reaction"])
    for n in (2, 3):  # two more 🎉: the most frequent emoji first
        await Interaction.create(blog="blog", kind=InteractionKind.LIKE, object_id=f"{base.object_id}-{n}",
                                 actor_uri=f"{base.actor_uri}{n}", host=base.host, target_url=base.target_url,
                                 data={"emoji": "🎉"})
    page = await (await client.get("/admin")).text()
    tally = re.search(r'<ul class="tally">(.*?)</ul>', page, re.DOTALL)
    assert tally
    chips = re.findall(r'kind=([a-z]+)">\1</a> <strong>(\d+)</strong>', tally.group(1))
    assert chips == [("reply", "1"), ("like", "2"), ("reaction", "4"), ("repost", "1"), ("quote", "1")]
    assert re.search(r'<bdi class="reacji">🎉</bdi>&#8239;3 · <bdi class="reacji">&lt;img src=x onerror=alert\(1\)&gt;'
                     r'</bdi>&#8239;1', tally.group(1))
