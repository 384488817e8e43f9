"""Bad ids at the interaction pages, GET /interactions/{id} (bridge/webmention/pages.py):
the page the blog fetches as a webmention source. Anything but the id of a published,
public interaction is 404 `no such interaction` (JSON), logged once as `public.refused`,
no row changed: ids that are not ASCII digits (`²`, `١٢`, `１`), past the BIGINT key,
zero, negative, and interactions nothing public was ever at (held, followers-only,
direct). (Rejected and deleted ones answer 410 by design: tests/test_interaction_flow.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import make_app
from bridge.config import Config
from bridge.core.clock import utcnow
from bridge.models import Interaction, InteractionKind, InteractionState, Visibility
from tests.hostile.table import Case, assert_logged_once, ids, record, snapshot, watch

STATES = {"published": (InteractionState.PUBLISHED, Visibility.PUBLIC),
          "held": (InteractionState.HELD, Visibility.PUBLIC),
          "followers-only": (InteractionState.PRIVATE, Visibility.FOLLOWERS),
          "direct": (InteractionState.PRIVATE, Visibility.DIRECT)}


@pytest.fixture
async def client(database: Config) -> AsyncIterator[tuple[TestClient, dict[str, int]]]:
    made = {}
    for n, (label, (state, visibility)) in enumerate(STATES.items()):
        row = await Interaction.create(
            blog="blog", kind=InteractionKind.REPLY, object_id=f"https://social.example/notes/{n}",
            actor_uri="https://social.example/users/alice", host="social.example",
            target_url="https://blog.example/2025/01/02/hello/", state=state, visibility=visibility,
            published=utcnow(), content="<p>hi</p>")
        made[label] = row.id
    async with TestClient(TestServer(make_app(database, workers=False))) as c:
        yield c, made


NO = "no such interaction"
CASES: list[Case] = [
    *[Case(f"id {label}", 404, NO, "/interactions/" + raw)
      for label, raw in (("not a number", "abc"), ("negative", "-1"), ("zero", "0"), ("30 digits", "9" * 30),
                         ("2^63", str(2**63)), ("20 digits", "1" * 20), ("superscript two", "%C2%B2"),
                         ("Arabic-Indic", "%D9%A1%D9%A2"), ("fullwidth one", "%EF%BC%91"), ("float", "1.5"),
                         ("hex", "0x1"), ("with a space", "1%20"), ("with a NUL", "1%00"), ("SQL", "1%20OR%201=1"),
                         ("path traversal", "..%2F..%2Fadmin"), ("4 kB", "1" * 4000))],
    Case("unknown id", 404, NO, "/interactions/999999"),
    Case("the largest id", 404, NO, f"/interactions/{2**63 - 1}"),
    Case("a held interaction", 404, NO, "/interactions/{held}"),
    Case("a followers-only interaction", 404, NO, "/interactions/{followers-only}"),
    Case("a direct interaction", 404, NO, "/interactions/{direct}"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
async def test_interaction_page_refuses(client: tuple[TestClient, dict[str, int]], caplog: pytest.LogCaptureFixture,
                                        case: Case) -> None:
    http, made = client
    path = case.send
    for label, row_id in made.items():
        path = path.replace("{" + label + "}", str(row_id))
    watch(caplog, "bridge.public")
    before = await snapshot()
    caplog.clear()
    response = await http.get(path)
    answer = await response.json(content_type=None)
    after = await snapshot()
    record("interaction pages", case, got_status=response.status, got_reason=answer.get("error", ""),
           detail=path[:120], db_unchanged=before == after)
    assert (response.status, answer.get("error")) == (case.status, case.reason), answer
    assert_logged_once(caplog, "public.refused", f"status={case.status}")
    assert after == before


async def test_a_published_interaction_is_served(client: tuple[TestClient, dict[str, int]]) -> None:
    http, made = client
    response = await http.get(f"/interactions/{made['published']}")
    assert response.status == 200 and "h-entry" in await response.text()
