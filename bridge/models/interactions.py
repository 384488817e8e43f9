"""The interactions of the fediverse with our posts (tortoise-orm), a part of bridge/models:
replies, likes, boosts, reactions and quotes, each with its h-entry page and its webmention."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class InteractionKind(StrEnum):
    REPLY = "reply"
    LIKE = "like"
    REPOST = "repost"
    QUOTE = "quote"  # a post quoting one of ours (FEP-044f, or Misskey's `_misskey_quote`): a mention for the blog


class Visibility(StrEnum):
    """Who the fediverse author addressed (from `to`/`cc`); only the first two are ever shown."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    FOLLOWERS = "followers"  # kept for the operator: never rendered publicly, no webmention
    DIRECT = "direct"  # likewise


class InteractionState(StrEnum):
    """Where an interaction stands on the blog side."""

    HELD = "held"  # waiting for the operator (moderation.hold_interactions)
    PUBLISHED = "published"  # its page is up; its webmention is sent (see WebmentionState)
    PRIVATE = "private"  # followers-only or direct: kept here, never public
    REJECTED = "rejected"  # the operator said no: the page answers 410
    DELETED = "deleted"  # withdrawn by its author (Delete/Undo): the page answers 410


class WebmentionState(StrEnum):
    NONE = "none"  # nothing to send (held, private)
    QUEUED = "queued"  # a `webmention.send` job is waiting or retrying
    SENT = "sent"  # the endpoint answered 2xx
    NO_ENDPOINT = "no_endpoint"  # the target advertises no webmention endpoint
    FAILED = "failed"  # a 4xx, or out of attempts: final, with the reason in webmention_error


class Interaction(Model):
    """A reply, like or boost of one of our posts from the fediverse, with its own h-entry
    page at the bridge (bridge/core/urls.py `interaction_page`) that is the webmention source.

    The author's name, photo and profile URL are copied from the remote actor when the
    interaction is recorded (the page must stay stable when the cache changes).
    """

    id = fields.BigIntField(primary_key=True)
    blog = fields.CharField(max_length=64)
    kind = fields.CharEnumField(InteractionKind, max_length=8)
    object_id = fields.CharField(max_length=2000, unique=True)  # the Note's id; a Like's / Announce's activity id
    activity_id = fields.CharField(max_length=2000, null=True)  # the Create / Like / Announce that brought it
    url = fields.CharField(max_length=2000, null=True)  # the fediverse post's page for people
    actor_uri = fields.CharField(max_length=2000)
    host = fields.CharField(max_length=255)  # the actor's host, for rate limits and domain blocks
    author_name = fields.CharField(max_length=512, null=True)
    author_photo = fields.CharField(max_length=2000, null=True)
    author_url = fields.CharField(max_length=2000, null=True)
    author_handle = fields.CharField(max_length=512, null=True)
    content = fields.TextField(null=True)  # the remote HTML as received; sanitised when rendered
    summary = fields.TextField(null=True)  # a content warning
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    in_reply_to = fields.CharField(max_length=2000, null=True)  # the AS2 inReplyTo / object as received
    target_url = fields.CharField(max_length=2000)  # the blog post's permalink: the webmention target
    post_id = fields.BigIntField(null=True)  # the BlogPost row of the target, when it is one of ours
    parent_id = fields.BigIntField(null=True)  # the interaction replied to, in a thread
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # tags, mentions, attachments
    state = fields.CharEnumField(InteractionState, max_length=16, default=InteractionState.PUBLISHED)
    published = fields.DatetimeField(null=True)
    edited = fields.DatetimeField(null=True)  # the remote `updated`, after an Update
    deleted_at = fields.DatetimeField(null=True)
    webmention_state = fields.CharEnumField(WebmentionState, max_length=16, default=WebmentionState.NONE)
    webmention_endpoint = fields.CharField(max_length=2000, null=True)
    # The webmention's target if not target_url (a WordPress thread, webmention/send.py).
    webmention_target = fields.CharField(max_length=2000, null=True)
    webmention_status = fields.IntField(null=True)  # the endpoint's last HTTP status
    webmention_error = fields.TextField(null=True)
    webmention_location = fields.CharField(max_length=2000, null=True)  # a 201's Location
    webmention_sent_at = fields.DatetimeField(null=True)
    webmentions_sent = fields.IntField(default=0)  # successful sends: first, updates, delete
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "interactions"
        indexes = (("blog", "state"), ("actor_uri", "created_at"), ("host", "created_at"), ("target_url",), ("created_at",))

    def __str__(self) -> str:
        return f"interaction {self.id} ({self.kind} by {self.actor_uri}, {self.state})"
