"""Our stored rows as the AS2 documents the fediverse sees: a blog post's object, a blog's
actor. An edge (it reads the database) over the translators in bridge/as2/posts.py and
bridge/as2/actor.py; shared by what serves them (bridge/public/routes.py) and what pushes them
(bridge/publish/fanout.py), so a follower receives exactly what a fetch of the id returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bridge.as2.actor import actor_to_as2
from bridge.as2.posts import post_to_as2, reply_target
from bridge.as2.previews import dress
from bridge.as2.quotes import interaction_policy
from bridge.as2.replies import page_of, replies_to_as2
from bridge.blog.post import Post, post_from_dict, profile_from_dict
from bridge.config import BlogConfig
from bridge.core.urls import actor_collection, actor_id, key_id, post_object_id
from bridge.models import ActorKey, BlogPost, BlogState
from bridge.publish import replies, reply_targets
from bridge.signatures import multikey_document


class NoActorKey(Exception):
    """The actor has no active key yet (prepare_storage makes them at start)."""

    def __init__(self, actor: str) -> None:
        super().__init__(f"no signing key for {actor} yet: run `bridge migrate`")
        self.actor = actor


async def actor_key(actor: str) -> tuple[str, datetime | None]:
    """The active RSA public key, and when the actor's first key was made (its birth). Raises NoActorKey."""
    key = await ActorKey.filter(actor=actor, algorithm="rsa", active=True).order_by("-id").first()
    if key is None:
        raise NoActorKey(actor)
    first = await ActorKey.filter(actor=actor).order_by("id").first()
    return key.public_pem, first.created_at if first else None


async def blog_language(blog: str) -> str | None:
    """The language the blog's profile declares, for posts that do not say theirs."""
    state = await BlogState.get_or_none(name=blog)
    return (state.profile or {}).get("language") if state is not None else None


async def post_object(base_url: str, blog: BlogConfig, row: BlogPost, language: str | None,
                      blogs: Iterable[str]) -> dict[str, Any]:
    """A stored post as its AS2 object (`blogs`: every configured blog, for replies to our own posts)."""
    names = list(blogs)
    post = post_from_dict(row.data, row.sources)
    own, authors = await _reply_links(base_url, post, names)
    # An edit the bridge saw: `updated` must move forward or Mastodon ignores the Update.
    edited = row.changed_at if row.changed_at - row.first_seen_at > timedelta(seconds=1) else None
    object_id = post_object_id(actor_id(base_url, blog.name), row.id)
    obj = blog_post_as2(base_url, blog, post, object_id=object_id, language=language, own=own, updated=edited,
                        reply_authors=authors)
    # The thread, with its first page embedded: what Mastodon 4.5+ reads to show it (bridge/as2/replies.py).
    first, more = page_of(await replies_of(base_url, row, names), 1)
    obj["replies"] = replies_to_as2(object_id, [reply.object_id for reply in first], more=more)
    return obj


async def _reply_links(base_url: str, post: Post, blogs: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """What the post's `in-reply-to` URLs are on the fediverse (URL → object id), and the authors
    of those objects (object id → actor id)."""
    own: dict[str, str] = {}
    authors: dict[str, str] = {}
    if post.in_reply_to:
        for target in await BlogPost.filter(url__in=list(post.in_reply_to), blog__in=blogs):
            own[target.url] = post_object_id(actor_id(base_url, target.blog), target.id)
        # Our interaction pages and fediverse posts resolved when published (bridge/publish/reply_targets.py).
        for url, found in (await reply_targets.known(base_url, post.in_reply_to)).items():
            own.setdefault(url, found.object_id)
            if found.author:
                authors[found.object_id] = found.author
    return own, authors


async def in_reply_to_of(base_url: str, row: BlogPost, blogs: list[str]) -> str | None:
    """The `inReplyTo` of a stored post's object (read as post_object reads it), or None."""
    post = post_from_dict(row.data, row.sources)
    own, _authors = await _reply_links(base_url, post, blogs)
    return reply_target(post, own)


async def replies_of(base_url: str, row: BlogPost, blogs: Iterable[str]) -> list[replies.Reply]:
    """What the post's `replies` collection lists, oldest first (bridge/publish/replies.py)."""
    names = list(blogs)
    return await replies.thread(base_url, row, names, lambda answer: in_reply_to_of(base_url, answer, names))


def blog_post_as2(base_url: str, blog: BlogConfig, post: Post, *, object_id: str, language: str | None,
                  own: Mapping[str, str] | None = None, updated: datetime | None = None,
                  reply_authors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A post of `blog` as its AS2 object, styled and linked as the blog's config says.
    `reply_authors`: object id → its author, who is mentioned when the post replies to it."""
    target = reply_target(post, own)
    me = actor_id(base_url, blog.name)
    obj = post_to_as2(post, object_id=object_id, actor=me, style=blog.post_style,
                      blog_url=blog.url, tag_url=blog.tag_url, in_reply_to=target,
                      updated=updated, language=language,
                      reply_author=(reply_authors or {}).get(target) if target else None)
    obj["interactionPolicy"] = interaction_policy(blog.quote_policy, actor=me,
                                                  followers=actor_collection(me, "followers"))
    return dress(obj, post, sensitive_labels=blog.sensitive_labels)


async def actor_document(base_url: str, blog: BlogConfig) -> dict[str, Any]:
    """The blog's actor as served at its id. Raises NoActorKey."""
    pem, born = await actor_key(blog.name)
    state = await BlogState.get_or_none(name=blog.name)
    profile = profile_from_dict(state.profile) if state is not None and state.profile else None
    me = actor_id(base_url, blog.name)
    ed25519 = await ActorKey.filter(actor=blog.name, algorithm="ed25519", active=True).order_by("-id").first()
    multikey = multikey_document(key_id(me, ed25519=True), me, ed25519.public_pem) if ed25519 else None
    return actor_to_as2(blog, base_url=base_url, profile=profile, public_key_pem=pem, published=born,
                        multikey=multikey)
