"""Bad input at the blog's webmention ping (POST /webmention, bridge/webmention/receive.py).

At the door: 400 (or 413) with a reason, one `ping.refused` record, no row changed (no
job queued). Behind it, the `webmention.ping` job: a source that does not link to the
bridge, is gone, or is garbage publishes nothing (one `ping.ignored` record, no row
changed); a source that fails (5xx) raises, so the job is retried. The blog is a real
local server (tests/fedi.py `Peer`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge import db
from bridge.app import BUILTIN_HANDLERS, make_app, new_http_session
from bridge.config import Config, load_config
from bridge.core.clock import utcnow
from bridge.jobs.kinds import Ping
from bridge.jobs.store import JobContext, enqueue
from bridge.models import Interaction, InteractionKind, InteractionState, Job, Visibility
from bridge.net.fetch import FetchError
from tests.fedi import Peer
from tests.hostile.table import Case, assert_logged_once, ids, record, snapshot, watch

TARGET = "https://bridge.example/"


@pytest.fixture
async def blog() -> AsyncIterator[Peer]:
    peer = await Peer.start()
    try:
        yield peer
    finally:
        await peer.close()


@pytest.fixture
async def env(write_config: Any, blog: Peer) -> AsyncIterator[tuple[Config, Peer]]:
    config = load_config(write_config(blog_url=blog.url("/")), env={})
    await db.migrate(config.database)
    try:
        yield config, blog
    finally:
        await db.close_db()


def form(source: str | None, target: str | None, **more: str) -> dict[str, Any]:
    data = {k: v for k, v in (("source", source), ("target", target)) if v is not None}
    return {"data": {**data, **more}}


ON_BLOG = "{blog}/2025/01/02/hello/"
DOOR: list[Case] = [
    Case("no source", 400, "source and target are required", form(None, TARGET)),
    Case("no target", 400, "source and target are required", form(ON_BLOG, None)),
    Case("empty form", 400, "source and target are required", form(None, None)),
    Case("blank source", 400, "source and target are required", form("   ", TARGET)),
    Case("source ftp:", 400, "source must be an http(s) URL", form("ftp://127.0.0.1/x", TARGET)),
    Case("source javascript:", 400, "source must be an http(s) URL", form("javascript:alert(1)", TARGET)),
    Case("source relative", 400, "source must be an http(s) URL", form("/2025/01/02/hello/", TARGET)),
    Case("source over 2000 characters", 400, "source must be an http(s) URL", form(ON_BLOG + "a" * 2000, TARGET)),
    Case("target over 2000 characters", 400, "source must be an http(s) URL", form(ON_BLOG, TARGET + "a" * 2000)),
    Case("target on another host", 400, "target is not on this bridge", form(ON_BLOG, "https://other.example/")),
    Case("target on a look-alike host", 400, "target is not on this bridge",
         form(ON_BLOG, "https://bridge.example.evil.example/")),
    Case("target with userinfo trick", 400, "target is not on this bridge", form(ON_BLOG, "https://bridge.example@evil.example/")),
    Case("target not a URL", 400, "target is not on this bridge", form(ON_BLOG, "bridge")),
    Case("source not on the blog", 400, "source is not a page of a blog bridged here",
         form("https://elsewhere.example/p", TARGET)),
    Case("source on the blog's host but another port", 400, "source is not a page of a blog bridged here",
         form("http://127.0.0.1:1/p", TARGET)),
    Case("source with the blog as userinfo", 400, "source is not a page of a blog bridged here",
         form("http://{hostport}@evil.example/p", TARGET)),
    Case("source with a newline (log injection)", 400, "source contains U+000A",
         form(ON_BLOG + "\nping.accepted blog=blog", TARGET)),
    Case("source with a right-to-left override", 400, "source contains U+202E", form(ON_BLOG + "\u202e", TARGET)),
    Case("target with a NUL", 400, "target contains U+0000", form(ON_BLOG, TARGET + "\x00")),
    Case("JSON instead of a form", 400, "source and target are required",
         {"json": {"source": ON_BLOG, "target": TARGET}}),
    Case("form over 1 MB", 413, "Maximum request body size 1048576 exceeded.",
         form(ON_BLOG, TARGET, padding="x" * (1024 * 1024 + 10))),
]


def _fill(value: Any, blog: Peer) -> Any:
    if isinstance(value, str):
        return value.replace("{blog}", blog.base).replace("{hostport}", blog.base.split("//")[1])
    if isinstance(value, dict):
        return {k: _fill(v, blog) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", DOOR, ids=ids(DOOR))
async def test_ping_door_refuses(env: tuple[Config, Peer], caplog: pytest.LogCaptureFixture, case: Case) -> None:
    config, blog = env
    watch(caplog, "bridge.ping")
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        before = await snapshot()
        caplog.clear()
        response = await client.post("/webmention", **_fill(case.send, blog))
        answer = await response.json()
        after = await snapshot()
        record("webmention ping", case, got_status=response.status, got_reason=answer.get("detail", ""),
               detail=answer.get("error", ""), db_unchanged=before == after)
        assert (response.status, answer.get("detail")) == (case.status, case.reason), answer
        assert_logged_once(caplog, "ping.refused", "reason=")
        assert after == before


PAGE = b"<!doctype html><article class=h-entry><h1 class=p-name>Hello</h1><div class=e-content>%s</div></article>"
JOB: list[Case] = [
    Case("source does not link to the target", 0, "does not link", (200, "text/html", PAGE % b"<a href='https://example.org/'>x</a>")),
    Case("source links to another bridge path only", 0, "does not link",
         (200, "text/html", PAGE % b"<a href='https://bridge.example.org/'>x</a>")),
    Case("source is binary garbage", 0, "does not link", (200, "application/octet-stream", bytes(range(256)) * 64)),
    Case("source is an empty page", 0, "does not link", (200, "text/html", b"")),
    Case("source 404, never published", 0, "HTTP 404", (404, "text/html", b"not found")),
    Case("source 410, never published", 0, "HTTP 410", (410, "text/html", b"gone")),
]


@pytest.mark.parametrize("case", JOB, ids=ids(JOB))
async def test_ping_job_publishes_nothing(env: tuple[Config, Peer], caplog: pytest.LogCaptureFixture, case: Case) -> None:
    config, blog = env
    status, content_type, body = case.send
    blog.serve("/2025/01/02/hello/", body, status=status, content_type=content_type)
    watch(caplog, "bridge.ping")
    job = await enqueue(Ping.from_payload({"blog": "blog", "source": blog.url("/2025/01/02/hello/"), "target": TARGET}))
    async with new_http_session(config) as session:
        before = await snapshot()
        caplog.clear()
        await BUILTIN_HANDLERS[job.kind](job, JobContext(config=config, http=session))
        after = await snapshot()
    line = assert_logged_once(caplog, "ping.ignored", case.reason)
    record("webmention ping job", case, got_status=0, got_reason=line, detail=line, db_unchanged=before == after)
    assert after == before


async def test_a_failing_source_raises_so_the_job_is_retried(env: tuple[Config, Peer]) -> None:
    config, blog = env
    blog.serve("/2025/01/02/hello/", b"oops", status=503, content_type="text/html")
    job = await enqueue(Ping.from_payload({"blog": "blog", "source": blog.url("/2025/01/02/hello/"), "target": TARGET}))
    async with new_http_session(config) as session:
        before = await snapshot()
        with pytest.raises(FetchError):
            await BUILTIN_HANDLERS[job.kind](job, JobContext(config=config, http=session))
        assert await snapshot() == before


# The blog answering back: a webmention whose target is one of our interaction pages
# (README "The blog answers back"). The page answered must be one the bridge serves:
# a published, public interaction; a malformed or unknown id, or an interaction held,
# private, rejected or deleted, is refused at the door (no job queued).
INTERACTIONS = [("published", InteractionState.PUBLISHED, Visibility.PUBLIC),
                ("held", InteractionState.HELD, Visibility.PUBLIC),
                ("followers-only", InteractionState.PRIVATE, Visibility.FOLLOWERS),
                ("rejected", InteractionState.REJECTED, Visibility.PUBLIC),
                ("deleted", InteractionState.DELETED, Visibility.PUBLIC)]
NOT_A_PAGE, NOT_PUBLISHED = "target is not an interaction page", "target is no published interaction"
ANSWER_BACK: list[Case] = [
    *[Case(f"answer to interaction page id {label}", 400, NOT_A_PAGE, form(ON_BLOG, TARGET + "interactions/" + raw))
      for label, raw in (("not a number", "abc"), ("negative", "-1"), ("zero", "0"), ("empty", ""),
                         ("30 digits", "9" * 30), ("2^63", str(2**63)), ("superscript two", "\u00b2"),
                         ("superscript two, percent-encoded", "%C2%B2"), ("Arabic-Indic", "\u0661\u0662"),
                         ("fullwidth one", "\uff11"), ("float", "1.5"), ("with a trailing slash", "{published}/"),
                         ("with a path after it", "{published}/x"), ("SQL", "1%20OR%201=1"))],
    Case("answer to an unknown interaction", 400, NOT_PUBLISHED, form(ON_BLOG, TARGET + "interactions/999999")),
    Case("answer to the largest id", 400, NOT_PUBLISHED, form(ON_BLOG, TARGET + f"interactions/{2**63 - 1}")),
    *[Case(f"answer to a {label} interaction", 400, NOT_PUBLISHED, form(ON_BLOG, TARGET + "interactions/{" + label + "}"))
      for label, _state, _vis in INTERACTIONS[1:]],
    Case("answer to an interaction page over http", 400, "target is not on this bridge",
         form(ON_BLOG, "http://bridge.example/interactions/{published}")),
    Case("answer from another site to a published interaction", 400, "source is not a page of a blog bridged here",
         form("https://elsewhere.example/reply", TARGET + "interactions/{published}")),
]


async def _interactions() -> dict[str, str]:
    made = {}
    for n, (label, state, visibility) in enumerate(INTERACTIONS):
        row = await Interaction.create(
            blog="blog", kind=InteractionKind.REPLY, object_id=f"https://social.example/notes/{n}",
            actor_uri="https://social.example/users/alice", host="social.example", target_url=TARGET,
            state=state, visibility=visibility, published=utcnow(), content="<p>hi</p>")
        made[label] = str(row.id)
    return made


def _fill_ids(value: Any, made: dict[str, str]) -> Any:
    if isinstance(value, str):
        for label, row_id in made.items():
            value = value.replace("{" + label + "}", row_id)
        return value
    if isinstance(value, dict):
        return {k: _fill_ids(v, made) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", ANSWER_BACK, ids=ids(ANSWER_BACK))
async def test_answer_back_door_refuses(env: tuple[Config, Peer], caplog: pytest.LogCaptureFixture, case: Case) -> None:
    config, blog = env
    made = await _interactions()
    watch(caplog, "bridge.ping")
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        before = await snapshot()
        caplog.clear()
        response = await client.post("/webmention", **_fill_ids(_fill(case.send, blog), made))
        answer = await response.json()
        after = await snapshot()
        record("webmention ping", case, got_status=response.status, got_reason=answer.get("detail", ""),
               detail=answer.get("error", ""), db_unchanged=before == after)
        assert (response.status, answer.get("detail")) == (case.status, case.reason), answer
        assert_logged_once(caplog, "ping.refused", "reason=")
        assert after == before


async def test_an_answer_to_a_published_interaction_is_taken(env: tuple[Config, Peer]) -> None:
    """The rows' baseline: the same webmention to a served interaction page is queued."""
    config, blog = env
    made = await _interactions()
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        response = await client.post("/webmention", data={"source": blog.url("/2025/01/02/hello/"),
                                                          "target": f"{TARGET}interactions/{made['published']}"})
        assert response.status == 202, await response.text()
    assert await Job.filter(kind=Ping.KIND).count() == 1
