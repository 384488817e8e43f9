"""What the dashboard tests share: the admin token, the browser, where screenshots go, and one
interaction of every kind the operator tells apart (also for tests/test_cli.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

TOKEN = "correct-horse-battery-staple-admin-token"
# Debian's chromium (apt-get install chromium), never a browser downloaded by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # git-ignored
# The README's pictures: written only when asked (`BRIDGE_README_SCREENSHOTS=1 pytest …`), so a
# test run does not change tracked files; otherwise they go to ARTIFACTS with the others.
README_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def readme_shot(name: str) -> Path:
    """Where a README picture goes: docs/screenshots/ when asked, else test-artifacts/."""
    folder = README_SHOTS if os.environ.get("BRIDGE_README_SCREENSHOTS") else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


# -- one interaction of every kind the operator tells apart (bridge/ops/interactions.py KIND_FILTERS)

HOSTILE_EMOJI = "<img src=x onerror=alert(1)>"  # an "emoji" a remote server made up: text, never markup


async def seed_kinds(blog: str = "blog", target: str = "https://blog.example/2026/a-post/") -> dict[str, int]:
    """A reply, two plain likes (one stored before likes kept an `emoji` key), two reactions (🎉,
    and one whose emoji is markup), a boost and a quote; their ids by name."""
    from bridge.core.clock import utcnow
    from bridge.models import (
        Interaction,
        InteractionKind,
        InteractionState,
        WebmentionState,
    )

    def row(name: str, kind: InteractionKind, data: dict[str, Any], **more: Any) -> dict[str, Any]:
        actor = f"https://social.example/users/{name}"
        return {"blog": blog, "kind": kind, "object_id": f"{actor}#{kind.value}/{blog}", "actor_uri": actor,
                "host": "social.example", "author_handle": f"{name}@social.example", "author_name": name.title(),
                "target_url": target, "state": InteractionState.PUBLISHED, "webmention_state": WebmentionState.SENT,
                "published": utcnow(), "data": data, **more}

    rows = {
        "reply": row("rita", InteractionKind.REPLY, {"emoji": None}, content="<p>Nice post</p>",
                     url="https://social.example/@rita/1"),
        "like": row("lars", InteractionKind.LIKE, {"emoji": None}),
        "old_like": row("olga", InteractionKind.LIKE, {}),
        "reaction": row("rob", InteractionKind.LIKE, {"emoji": "🎉"}),
        "hostile_reaction": row("mallory", InteractionKind.LIKE, {"emoji": HOSTILE_EMOJI}),
        "repost": row("bea", InteractionKind.REPOST, {"emoji": None}),
        "quote": row("quinn", InteractionKind.QUOTE, {"emoji": None},
                     content="<p>Worth reading: RE: https://blog.example/2026/a-post/</p>",
                     url="https://social.example/@quinn/7"),
    }
    return {name: (await Interaction.create(**values)).id for name, values in rows.items()}


# What each filter must select, by the names above.
KIND_ROWS = {"reply": {"reply"}, "like": {"like", "old_like"}, "reaction": {"reaction", "hostile_reaction"},
             "repost": {"repost"}, "quote": {"quote"}}


# -- the overview's History (bridge/ops/admin/history.py) ----------------------------------


async def seed_history(now: datetime, blog: str = "blog") -> dict[str, int]:
    """Deliveries counted by hour, followers who joined and left, interactions by day, around
    `now`, with what the charts must total; rows outside the windows too (never counted)."""
    from bridge.models import (
        Follower,
        FollowState,
        HistoryCount,
        HistoryWhat,
        Interaction,
        InteractionKind,
    )

    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)

    async def count(what: HistoryWhat, at: datetime, n: int, since: datetime | None = None) -> None:
        await HistoryCount.create(hour=at, blog=blog, what=what, since=since or at, n=n)

    await count(HistoryWhat.DELIVERED, hour - timedelta(hours=1), 40)
    await count(HistoryWhat.DELIVERED, hour - timedelta(hours=30), 25)
    await count(HistoryWhat.FAILED, hour - timedelta(hours=1), 3)
    await count(HistoryWhat.DELIVERED, hour - timedelta(days=8), 1000)  # before the 7 days
    # Two who had followed since 20 days ago left 5 days ago.
    await count(HistoryWhat.UNFOLLOWED, hour - timedelta(days=5), 2, since=day - timedelta(days=20))
    for n, days in enumerate((40, 10, 2)):
        actor = f"https://social.example/users/f{n}"
        await Follower.create(blog=blog, actor_uri=actor, inbox=f"{actor}/inbox", state=FollowState.ACCEPTED,
                              accepted_at=now - timedelta(days=days), created_at=now - timedelta(days=days))
    await Follower.create(blog=blog, actor_uri="https://social.example/users/asking", inbox="https://social.example/i",
                          state=FollowState.PENDING)
    for n, ago in enumerate((timedelta(hours=1), timedelta(hours=1), timedelta(hours=1), timedelta(days=3),
                             timedelta(days=3), timedelta(days=40))):
        await Interaction.create(blog=blog, kind=InteractionKind.LIKE, object_id=f"https://social.example/likes/{blog}/{n}",
                                 actor_uri="https://social.example/users/f0", host="social.example",
                                 target_url="https://blog.example/2026/a-post/", created_at=now - ago)
    return {"delivered": 65, "failed": 3, "followers": 3, "interactions": 5}


# The browser tests: skipped on a developer's machine without Debian's chromium; in CI (.ci/run
# installs it) never.
requires_chromium = pytest.mark.skipif(
    not os.environ.get("CI") and shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)")


@asynccontextmanager
async def chromium(*args: str) -> AsyncIterator[Any]:
    """Debian's headless Chromium driven by Playwright (which never downloads a browser here)."""
    from playwright import async_api as playwright_api  # a test dependency, pinned

    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args])
        try:
            yield browser
        finally:
            await browser.close()
