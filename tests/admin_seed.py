"""What the dashboard tests share: the admin token, the browser, where screenshots go, and one
interaction of every kind the operator tells apart (also for tests/test_cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TOKEN = "correct-horse-battery-staple-admin-token"
# Debian's chromium (apt-get install chromium), never a browser downloaded by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # git-ignored


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
