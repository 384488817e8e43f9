"""Bad query parameters at the public GETs (bridge/public/routes.py): WebFinger's `resource`,
the collections' paging cursors, post ids and lookups. Each: the status, the `error`
(a prefix of it), one `public.refused` record, no row changed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.config import Config
from tests.hostile.table import Case, assert_logged_once, ids, record, snapshot, watch

WF = "/.well-known/webfinger"
AS2 = {"Accept": "application/activity+json"}


@pytest.fixture
async def client(database: Config) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(database, workers=False))) as client:
        yield client


def wf(resource: str | None) -> str:
    from urllib.parse import quote
    return WF if resource is None else f"{WF}?resource={quote(resource, safe='')}"


CASES: list[Case] = [
    Case("webfinger without resource", 400, "resource: missing", wf(None)),
    Case("webfinger empty resource", 400, "resource: missing", wf("")),
    Case("webfinger blank resource", 400, "resource: missing", wf("   ")),
    Case("webfinger acct: only", 400, "resource: ", wf("acct:")),
    Case("webfinger acct:@", 400, "resource: ", wf("acct:@")),
    Case("webfinger no host", 400, "resource: ", wf("acct:blog")),
    Case("webfinger no user", 400, "resource: ", wf("acct:@bridge.example")),
    Case("webfinger host with a path", 400, "resource: ", wf("acct:blog@bridge.example/x")),
    Case("webfinger host with a query", 400, "resource: ", wf("acct:blog@bridge.example?x=1")),
    Case("webfinger space inside", 400, "resource: ", wf("acct:bl og@bridge.example")),
    Case("webfinger newline inside", 400, "resource: ", wf("acct:blog@bridge.example\nX: 1")),
    Case("webfinger mailto:", 404, "no account", wf("mailto:blog@bridge.example")),
    Case("webfinger javascript:", 400, "resource: ", wf("javascript:alert(1)")),
    Case("webfinger another host", 404, "no account blog@other.example", wf("acct:blog@other.example")),
    Case("webfinger unknown user", 404, "no account nobody@", wf("acct:nobody@bridge.example")),
    Case("webfinger look-alike user (Cyrillic)", 404, "no account", wf("acct:bl\u043eg@bridge.example")),
    Case("webfinger look-alike host", 404, "no account", wf("acct:blog@bridge.examp1e")),
    Case("webfinger right-to-left override", 404, "no account", wf("acct:blog\u202e@bridge.example")),
    Case("webfinger 4 kB user", 404, "no account", wf("acct:" + "a" * 4000 + "@bridge.example")),
    Case("webfinger unknown actor URL", 404, "no account for", wf("https://bridge.example/users/nobody")),
    Case("webfinger actor URL on another host", 404, "no account for", wf("https://evil.example/users/blog")),
    Case("outbox max_id not a number", 400, "max_id: expected a post id", "/users/blog/outbox?page=true&max_id=abc"),
    Case("outbox max_id negative", 400, "max_id: expected a post id", "/users/blog/outbox?page=true&max_id=-1"),
    Case("outbox max_id superscript two", 400, "max_id: expected a post id", "/users/blog/outbox?page=true&max_id=%C2%B2"),
    Case("outbox max_id Arabic-Indic digits", 400, "max_id: expected a post id",
         "/users/blog/outbox?page=true&max_id=%D9%A1%D9%A2"),
    Case("outbox max_id 30 digits", 400, "max_id: expected a post id", "/users/blog/outbox?page=true&max_id=" + "9" * 30),
    Case("outbox max_id float", 400, "max_id: expected a post id", "/users/blog/outbox?page=true&max_id=1.5"),
    Case("outbox max_id empty", 400, "max_id: expected a post id", "/users/blog/outbox?page=true&max_id="),
    Case("outbox max_id of no post", 400, "no dated post 99999", "/users/blog/outbox?page=true&max_id=99999"),
    Case("outbox min_id not a number", 400, "min_id: expected a post id", "/users/blog/outbox?page=true&min_id=x"),
    Case("outbox min_id of no post", 400, "no dated post 7", "/users/blog/outbox?min_id=7"),
    Case("outbox max_id SQL", 400, "max_id: expected a post id", "/users/blog/outbox?max_id=1%20OR%201=1"),
    Case("followers max_id not a number", 400, "max_id: expected a post id", "/users/blog/followers?page=true&max_id=x"),
    Case("followers max_id 30 digits", 400, "max_id: expected a post id",
         "/users/blog/followers?page=true&max_id=" + "9" * 30),
    Case("outbox of an unknown account", 404, "no such account", "/users/nobody/outbox"),
    Case("followers of an unknown account", 404, "no such account", "/users/nobody/followers?page=true"),
    Case("actor with a NUL in its name", 404, "no such account", "/users/blog%00"),
    Case("post id of no post", 404, "no such post", "/users/blog/posts/12345"),
    Case("post id 30 digits", 404, "no such post", "/users/blog/posts/" + "9" * 30),
    Case("post id in Arabic-Indic digits", 404, "no such post", "/users/blog/posts/%D9%A1%D9%A2"),
    Case("post activity of no post", 404, "no such post", "/users/blog/posts/5/create"),
    Case("post lookup without url", 400, "url: missing", "/users/blog/posts"),
    Case("post lookup of an unknown url", 404, "no post https://evil.example/", "/users/blog/posts?url=https://evil.example/"),
    Case("authorize_interaction without uri", 400, "uri: missing", "/authorize_interaction"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
async def test_public_get_refuses(client: TestClient, caplog: pytest.LogCaptureFixture, case: Case) -> None:
    watch(caplog, "bridge.public")
    before = await snapshot()
    caplog.clear()
    response = await client.get(case.send, headers=AS2)
    answer = await response.json(content_type=None)
    after = await snapshot()
    record("public GET", case, got_status=response.status, got_reason=answer.get("error", ""), detail=case.send[:120],
           db_unchanged=before == after)
    assert response.status == case.status, answer
    assert answer["error"].startswith(case.reason), answer
    assert_logged_once(caplog, "public.refused", f"status={case.status}")
    assert after == before
