"""Bad input at the front door's one form, `GET /interact?uri=…&account=…`
(bridge/public/interact.py), with the production rule (no private addresses). Each: the
status, the reason the page shows (a prefix of it), one `public.refused` record, no row
changed, and never a redirect: a bad `uri` or `account` cannot send a browser anywhere."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.config import Config, SecurityConfig
from tests.hostile.table import Case, assert_logged_once, ids, record, snapshot, watch

ACTOR = "https://bridge.example/users/blog"


@pytest.fixture
async def client(database: Config) -> AsyncIterator[TestClient]:
    config = replace(database, security=SecurityConfig(allow_private_addresses=False))
    async with TestClient(TestServer(make_app(config, workers=False))) as client:
        yield client


def ask(uri: str | None, account: str | None = "me@social.example") -> str:
    query = {k: v for k, v in (("uri", uri), ("account", account)) if v is not None}
    return f"/interact?{urlencode(query)}"


CASES: list[Case] = [
    Case("no uri", 400, "uri: missing", ask(None)),
    Case("empty uri", 400, "uri: missing", ask("")),
    Case("uri on another host", 400, "uri: not an account or a post", ask("https://evil.example/users/blog")),
    Case("uri look-alike host", 400, "uri: not an account or a post", ask("https://bridge.example.evil/users/blog")),
    Case("uri of an unknown account", 400, "uri: not an account or a post", ask(f"{ACTOR}x")),
    Case("uri of no post", 400, "uri: not an account or a post", ask(f"{ACTOR}/posts/12345")),
    Case("uri post id 30 digits", 400, "uri: not an account or a post", ask(f"{ACTOR}/posts/" + "9" * 30)),
    Case("uri of a collection", 400, "uri: not an account or a post", ask(f"{ACTOR}/followers")),
    Case("uri javascript:", 400, "uri: not an account or a post", ask("javascript:alert(1)")),
    Case("uri 3 kB", 400, "uri: not an account or a post", ask(ACTOR + "/" + "a" * 3000)),
    Case("account blank", 400, "type your handle", ask(ACTOR, "   ")),
    Case("account with spaces", 400, "that is not a handle", ask(ACTOR, "me at social.example")),
    Case("account with a newline", 400, "that is not a handle", ask(ACTOR, "me@social.example\nX: 1")),
    Case("account NUL", 400, "that is not a handle", ask(ACTOR, "me@social.example\x00")),
    Case("account 4 kB", 400, "that is not a handle", ask(ACTOR, "a" * 4000 + "@social.example")),
    Case("account javascript:", 400, "'javascript:alert(1)' is not a server name", ask(ACTOR, "javascript:alert(1)")),
    Case("account ftp URL", 400, "only an http(s) address", ask(ACTOR, "ftp://social.example")),
    Case("account URL with credentials", 400, "only an http(s) address", ask(ACTOR, "https://u:p@social.example")),
    Case("account URL with a path", 400, "give your server's address without a path",
         ask(ACTOR, "https://social.example/admin")),
    Case("account two at signs", 400, "'a@b@social.example' is not a handle", ask(ACTOR, "a@b@social.example")),
    Case("account no user", 400, "'@@social.example' is not a handle", ask(ACTOR, "@@social.example")),
    Case("account host with a path", 400, "'social.example/x' is not a server name", ask(ACTOR, "me@social.example/x")),
    Case("account port out of range", 400, "'social.example:70000' is not a server name",
         ask(ACTOR, "me@social.example:70000")),
    Case("account right-to-left override", 400, "that is not a handle", ask(ACTOR, "me@social\u202e.example")),
    Case("account bad IPv6", 400, "'[zz]' is not a server name", ask(ACTOR, "me@[zz]")),
    Case("account loopback", 400, "127.0.0.1 is not a public server", ask(ACTOR, "me@127.0.0.1")),
    Case("account loopback server only", 400, "127.0.0.1:8080 is not a public server", ask(ACTOR, "127.0.0.1:8080")),
    Case("account private network", 400, "10.0.0.1 is not a public server", ask(ACTOR, "https://10.0.0.1")),
    Case("account link-local (cloud metadata)", 400, "169.254.169.254 is not a public server",
         ask(ACTOR, "me@169.254.169.254")),
    Case("account IPv6 loopback", 400, "[::1] is not a public server", ask(ACTOR, "me@[::1]")),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
async def test_interact_refuses(client: TestClient, caplog: pytest.LogCaptureFixture, case: Case) -> None:
    watch(caplog, "bridge.public")
    before = await snapshot()
    caplog.clear()
    response = await client.get(case.send, allow_redirects=False)
    page = await response.text()
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', page)
    reason = html.unescape(found.group(1)) if found else ""
    after = await snapshot()
    record("interact GET", case, got_status=response.status, got_reason=reason, detail=case.send[:120],
           db_unchanged=before == after)
    assert response.status == case.status, page
    assert "Location" not in response.headers
    assert reason.startswith(case.reason), reason
    assert_logged_once(caplog, "public.refused", f"status={case.status}")
    assert after == before
