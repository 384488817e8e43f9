"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against
the real app on 127.0.0.1. Log in, see a follower, re-deliver a post, reset a host, retry a
dead job, log out; the login-required and CSRF rules checked from the browser too.
Screenshots of every page go to test-artifacts/ (laptop and phone widths)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bridge.app import make_app
from bridge.config import Config, load_config
from bridge.core.clock import utcnow
from bridge.models import (
    Block,
    BlogPost,
    Follower,
    FollowState,
    Interaction,
    InteractionKind,
    InteractionState,
    Job,
    JobState,
    OutboundActivity,
    RemoteActor,
    RemoteHost,
    WebmentionState,
)

from .admin_seed import ARTIFACTS, TOKEN, chromium, requires_chromium

# Skipped on a developer's machine without Debian's chromium; in CI (.ci/run installs it) never.
pytestmark = requires_chromium



@dataclass
class Seeded:
    post: BlogPost
    failed_delivery: Job
    dead_publish: Job
    host: str
    held_reply: Interaction


async def seed(base: str) -> Seeded:
    me = f"{base}/users/blog"
    now = utcnow()
    alice = "https://peer.example/users/alice"
    await RemoteActor.create(uri=alice, host="peer.example", inbox=f"{alice}/inbox",
                             shared_inbox="https://peer.example/inbox", handle="alice@peer.example",
                             name="Alice Example", profile_url="https://peer.example/@alice", fetched_at=now)
    await Follower.create(blog="blog", actor_uri=alice, inbox=f"{alice}/inbox", shared_inbox="https://peer.example/inbox",
                          state=FollowState.ACCEPTED, accepted_at=now - timedelta(days=3))
    await Follower.create(blog="blog", actor_uri="https://other.example/users/bob", inbox="https://other.example/users/bob/inbox",
                          state=FollowState.ACCEPTED, accepted_at=now - timedelta(days=1))
    post = await BlogPost.create(blog="blog", url="http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/",
                                 data={"title": "Binge learning certificates", "content_html": "<p>Hi</p>"},
                                 sources={}, fingerprint="f" * 64, published=now - timedelta(hours=5),
                                 fetched_at=now, changed_at=now)
    activity = await OutboundActivity.create(activity_id=f"{me}/posts/{post.id}/create",
                                             body={"type": "Create", "id": f"{me}/posts/{post.id}/create"})
    ref = {"actor": "blog", "activity_ref": activity.id}
    await Job.create(kind="deliver", payload={**ref, "inbox": "https://peer.example/inbox"}, state=JobState.DONE,
                     attempts=1, run_after=now, finished_at=now)
    failed = await Job.create(kind="deliver", payload={**ref, "inbox": "https://down.example/inbox"},
                              state=JobState.DEAD, attempts=18, run_after=now, finished_at=now,
                              last_error="https://down.example/inbox answered 502: Bad Gateway (out of attempts)")
    await Job.create(kind="deliver", payload={**ref, "inbox": "https://slow.example/inbox"}, state=JobState.QUEUED,
                     attempts=2, run_after=now + timedelta(hours=1),
                     last_error="FetchError: timeout after 30 s")
    dead_publish = await Job.create(kind="ping", payload={"blog": "blog", "source": "http://127.0.0.1:8765/x",
                                                          "target": "https://bridge.example/"},
                                    state=JobState.DEAD, attempts=3, run_after=now, finished_at=now,
                                    last_error="http://127.0.0.1:8765/x answered 500 (permanent)")
    await RemoteHost.create(host="down.example", unavailable_since=now - timedelta(days=2), failures=7,
                            last_failure_at=now - timedelta(hours=3), last_error="https://down.example/inbox answered 502")
    held = await Interaction.create(
        blog="blog", kind=InteractionKind.REPLY, object_id="https://peer.example/notes/1", actor_uri=alice,
        host="peer.example", author_name="Alice Example", author_handle="alice@peer.example",
        author_url="https://peer.example/@alice", content="<p>Great post! <b>Thanks</b> for writing it.</p>",
        target_url=post.url, post_id=post.id, state=InteractionState.HELD, webmention_state=WebmentionState.NONE,
        published=now)
    await Interaction.create(
        blog="blog", kind=InteractionKind.LIKE, object_id="https://other.example/likes/9",
        actor_uri="https://other.example/users/bob", host="other.example", author_name="Bob",
        target_url=post.url, post_id=post.id, state=InteractionState.PUBLISHED,
        webmention_state=WebmentionState.FAILED, webmention_status=400,
        webmention_error="the endpoint answered 400: source does not link to target", published=now)
    return Seeded(post, failed, dead_publish, "down.example", held)


@pytest.fixture
async def site(write_config: Any, free_port: int) -> AsyncIterator[tuple[str, Config, Seeded]]:
    # The bridge's public origin is this server itself (http: the cookie is not Secure here).
    config = load_config(write_config(base_url=f"http://127.0.0.1:{free_port}"), env={"BRIDGE_ADMIN_TOKEN": TOKEN})
    server = TestServer(make_app(config, workers=False), host="127.0.0.1", port=free_port)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), config, await seed(config.server.base_url)
    finally:
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_operator_session_in_a_real_browser(site: tuple[str, Config, Seeded], browser: Any) -> None:
    base, _config, seeded = site
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = await context.new_page()

    # Login required: a page sends the browser to the login form; an action is refused.
    await page.goto(f"{base}/admin/jobs")
    assert page.url.startswith(f"{base}/admin/login?next=")
    refused = await page.request.post(f"{base}/admin/jobs/retry", form={"job": "all"})
    assert refused.status == 403
    assert (await Job.get(id=seeded.dead_publish.id)).state is JobState.DEAD
    await shot(page, "login")

    # A wrong token is refused with a message; the right one opens the page asked for.
    await page.fill("#token", "not-the-token")
    await page.click("button[type=submit]")
    assert "not the admin token" in await page.inner_text(".error")
    await page.fill("#token", TOKEN)
    await page.click("button[type=submit]")
    assert page.url == f"{base}/admin/jobs"
    cookie = next(c for c in await context.cookies() if c["name"] == "bridge_admin")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/admin"
    assert not cookie["secure"]  # an http base_url; test_admin.py checks Secure with an https one

    # Overview: the blog's numbers.
    await page.goto(f"{base}/admin")
    text = await page.inner_text("main")
    assert "@blog" in text and "Followers" in text
    assert await page.inner_text(".blog .stats div:nth-child(1) dd") == "2"
    assert await page.inner_text(".blog .stats div:nth-child(4) dd") == "1"  # the held reply
    assert " ".join((await page.inner_text(".blog .chips")).split()) == "deliver 1"  # the one retrying
    assert "1 dead job" not in text and "2 dead jobs" in text  # the failed delivery and the ping
    assert "1 remote host" in text
    await shot(page, "overview")

    # Followers: Alice with her name, handle and profile link; search narrows the list.
    await page.click("nav >> text=Followers")
    assert await page.inner_text(".person:first-child .name") in ("Alice Example", "https://other.example/users/bob")
    assert await page.get_attribute("a.name >> text=Alice Example", "href") == "https://peer.example/@alice"
    await page.fill("#q", "alice")
    await page.click("form.search button")
    names = await page.locator(".person .name").all_inner_texts()
    assert names == ["Alice Example"]
    assert "@alice@peer.example" in await page.inner_text(".person .handle")
    await shot(page, "followers")

    # Block Bob: he is blocked and follows no more.
    await page.goto(f"{base}/admin/followers")
    await page.click("li.person:has-text('other.example') button:has-text('Block')")
    assert "Blocked" in await page.inner_text(".notice")
    assert await Block.filter(pattern="https://other.example/users/bob").exists()
    assert not await Follower.filter(actor_uri="https://other.example/users/bob").exists()
    assert "https://other.example/users/bob" in await page.inner_text(".blocks")

    # Interactions: the held reply with its author and words, approved; the failed webmention's answer shown.
    await page.click("nav >> text=Interactions")
    text = await page.inner_text("main")
    assert "webmention failed" in text and "source does not link to target" in text
    await page.click("nav.tabs >> text=Held")
    held = page.locator("li.interaction").first
    assert "Great post! Thanks for writing it." in await held.inner_text()
    assert "Alice Example" in await held.inner_text()
    await shot(page, "interactions")
    await held.locator("button:has-text('Approve')").click()
    assert "Approved" in await page.inner_text(".notice")
    reply = await Interaction.get(id=seeded.held_reply.id)
    assert reply.state is InteractionState.PUBLISHED and reply.webmention_state is WebmentionState.QUEUED
    assert "Nothing is held" in await page.inner_text("main")

    # Posts: delivered / pending / failed counts, then the per-inbox detail with the last error.
    await page.click("nav >> text=Posts")
    row = page.locator("tbody tr").first
    cells = await row.locator("td.num").all_inner_texts()
    assert [c.split()[0] for c in cells] == ["1", "1", "1"]
    await shot(page, "posts")
    await page.click("text=Binge learning certificates")
    assert "502: Bad Gateway" in await page.inner_text("main")
    await shot(page, "post")
    await page.click("text=Re-deliver 1 failed")
    assert "1 failed deliveries queued again" in await page.inner_text(".notice")
    assert (await Job.get(id=seeded.failed_delivery.id)).state is JobState.QUEUED

    # Hosts: the unavailable host, reset.
    await page.click("nav >> text=Hosts")
    assert "down.example" in await page.inner_text("main")
    await shot(page, "hosts")
    await page.click("text=Reset")
    assert (await RemoteHost.get(host=seeded.host)).unavailable_since is None
    assert "Every remote host answered" in await page.inner_text("main")

    # Jobs: the dead ping job with its last error, retried.
    await page.click("nav >> text=Jobs")
    assert "answered 500 (permanent)" in await page.inner_text("main")
    await shot(page, "jobs")
    await page.click(f"li.job:has-text('#{seeded.dead_publish.id}') button")
    assert "1 dead jobs queued again" in await page.inner_text(".notice")
    job = await Job.get(id=seeded.dead_publish.id)
    assert job.state is JobState.QUEUED and job.attempts == 0

    # CSRF: the browser's session cookie alone does not make an action.
    await Job.filter(id=job.id).update(state=JobState.DEAD)
    for form in ({"job": "all"}, {"job": "all", "csrf": "forged"}):
        answer = await page.request.post(f"{base}/admin/jobs/retry", form=form)
        assert answer.status == 403 and "CSRF" in await answer.text()
    assert (await Job.get(id=job.id)).state is JobState.DEAD

    # The phone: every page at 390 px wide.
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True)
    await phone.add_cookies([c for c in await context.cookies() if c["name"] == "bridge_admin"])
    mobile = await phone.new_page()
    for name, path in (("overview", "/admin"), ("followers", "/admin/followers"), ("posts", "/admin/posts"),
                       ("interactions", "/admin/interactions"), ("jobs", "/admin/jobs")):
        await mobile.goto(f"{base}{path}")
        assert mobile.url == f"{base}{path}"
        width = await mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a phone"
        # Every section of the menu in view: the nav wraps, it does not scroll sideways.
        links = await mobile.eval_on_selector_all(
            "header.top nav a", "els => els.map(e => { const r = e.getBoundingClientRect();"
                     " return [e.textContent.trim(), r.left, r.right]; })")
        assert [label for label, _, _ in links][-2:] == ["Hosts", "Jobs"]
        hidden = [label for label, left, right in links if left < 0 or right > 390]
        assert not hidden, f"{path}: {hidden} off screen on a phone"
        await shot(mobile, f"phone-{name}")
    await phone.close()

    # Logout ends the session: pages ask for a login again, and the old cookie is dead.
    stolen = [c for c in await context.cookies() if c["name"] == "bridge_admin"]
    await page.click("button:has-text('Log out')")
    assert page.url.startswith(f"{base}/admin/login")
    assert "You are logged out" in await page.inner_text(".notice")
    await context.add_cookies(stolen)
    await page.goto(f"{base}/admin")
    assert page.url.startswith(f"{base}/admin/login")
    await context.close()
