"""A post with one of everything the comments widget shows or must hide, stored directly in the
database (for tests/test_comments_api.py and tests/test_widget_browser.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bridge.core.clock import utcnow
from bridge.models import (
    BlogPost,
    Interaction,
    InteractionKind,
    InteractionState,
    Visibility,
    WebmentionState,
)

PRIVATE_WORDS = "Only for my followers"  # a followers-only reply's words: never on the widget
DIRECT_WORDS = "Just between us"
HELD_WORDS = "Waiting for approval"
REJECTED_WORDS = "Spam spam spam"
DELETED_WORDS = "I take it back"
HIDDEN_WORDS = (PRIVATE_WORDS, DIRECT_WORDS, HELD_WORDS, REJECTED_WORDS, DELETED_WORDS)


@dataclass
class Seeded:
    post: BlogPost
    ids: dict[str, int]  # interaction row ids by name


async def seed_comments(post_url: str, *, blog: str = "blog", avatars: str = "https://social.example/avatars",
                        title: str = "A post about gardens", reaction: str = "🎉") -> Seeded:
    """The post, and on it: a thread of three (rita ← sam ← tess), replies held, private (followers,
    direct), rejected and deleted, a reply to the held one, two likes, a reaction, a boost, a
    followers-only boost and a quote."""
    now = utcnow()
    post = await BlogPost.create(blog=blog, url=post_url, data={"title": title, "content_html": "<p>Hi</p>"},
                                 sources={}, fingerprint="f" * 64, published=now - timedelta(days=1),
                                 fetched_at=now, changed_at=now)
    ids: dict[str, int] = {}
    minutes = iter(range(1, 100))

    async def add(name: str, kind: InteractionKind, *, state: InteractionState = InteractionState.PUBLISHED,
                  visibility: Visibility = Visibility.PUBLIC, parent: str | None = None, **more: Any) -> None:
        actor = f"https://social.example/users/{name}"
        values: dict[str, Any] = {
            "blog": blog, "kind": kind, "object_id": f"https://social.example/{kind.value}s/{name}-{post.id}",
            "actor_uri": actor, "host": "social.example", "author_name": name.title(),
            "author_handle": f"{name}@social.example", "author_url": f"https://social.example/@{name}",
            "author_photo": f"{avatars}/{name}.svg", "target_url": post_url, "post_id": post.id,
            "parent_id": ids[parent] if parent else None, "state": state, "visibility": visibility,
            "webmention_state": WebmentionState.SENT if state is InteractionState.PUBLISHED else WebmentionState.NONE,
            "published": now - timedelta(hours=12) + timedelta(minutes=next(minutes)), "data": {"emoji": None},
        }
        values.update(more)
        ids[name] = (await Interaction.create(**values)).id

    reply = InteractionKind.REPLY
    await add("rita", reply, content="<p>Lovely post, <strong>thanks</strong>!</p>",
              url="https://social.example/@rita/101")
    await add("sam", reply, parent="rita", visibility=Visibility.UNLISTED, content="<p>Agreed with Rita.</p>",
              summary="gardening opinions", url="https://social.example/@sam/102")
    await add("tess", reply, parent="sam", content="<p>Me too, from the third level.</p>",
              edited=now - timedelta(hours=1), data={"emoji": None, "language": "en"})
    await add("paula", reply, state=InteractionState.PRIVATE, visibility=Visibility.FOLLOWERS,
              content=f"<p>{PRIVATE_WORDS}</p>")
    await add("dan", reply, state=InteractionState.PRIVATE, visibility=Visibility.DIRECT, content=f"<p>{DIRECT_WORDS}</p>")
    await add("hank", reply, state=InteractionState.HELD, content=f"<p>{HELD_WORDS}</p>")
    await add("olly", reply, parent="hank", content="<p>Answering a held reply.</p>")
    await add("rex", reply, state=InteractionState.REJECTED, content=f"<p>{REJECTED_WORDS}</p>")
    await add("dora", reply, state=InteractionState.DELETED, content=f"<p>{DELETED_WORDS}</p>", deleted_at=now)
    await add("lars", InteractionKind.LIKE)
    await add("olga", InteractionKind.LIKE, data={}, author_photo=None)  # stored before likes kept `emoji`; no picture
    await add("rob", InteractionKind.LIKE, data={"emoji": reaction})
    await add("bea", InteractionKind.REPOST)
    await add("ben", InteractionKind.REPOST, state=InteractionState.PRIVATE, visibility=Visibility.FOLLOWERS)
    await add("quinn", InteractionKind.QUOTE, content=f"<p>Worth reading: {post_url}</p>",
              url="https://social.example/@quinn/7")
    return Seeded(post, ids)
