"""Database tables (tortoise-orm). Schema changes go through bridge/migrations.

Times are timezone-aware UTC datetimes. Every table the flows write carries what an operator needs to see
why something happened (attempts, last error). Parts in modules of their own, re-exported here
(tortoise finds every model of the app in this module): the interactions
(bridge/models/interactions.py), the blogs' own follows (following.py), the dashboard's history
(history.py)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from bridge.models.following import OutboundFollow as OutboundFollow
from bridge.models.following import OutboundFollowState as OutboundFollowState
from bridge.models.history import HistoryCount as HistoryCount
from bridge.models.history import HistoryWhat as HistoryWhat
from bridge.models.interactions import Interaction as Interaction
from bridge.models.interactions import InteractionKind as InteractionKind
from bridge.models.interactions import InteractionState as InteractionState
from bridge.models.interactions import Visibility as Visibility
from bridge.models.interactions import WebmentionState as WebmentionState


class JobState(StrEnum):
    """The closed set of states a job moves through."""

    QUEUED = "queued"  # waiting for run_after
    RUNNING = "running"  # leased by a worker until lease_expires
    DONE = "done"
    DEAD = "dead"  # gave up: permanent failure or out of attempts; kept with last_error


class Job(Model):
    """One unit of durable work: a delivery, a webmention, an inbox activity to handle… Enqueued in the
    same transaction as the state change that causes it, so the two commit or roll back together.
    A delivery's end is counted by a trigger for the dashboard (bridge/models/history.py)."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    state = fields.CharEnumField(JobState, max_length=16, default=JobState.QUEUED)
    attempts = fields.IntField(default=0)
    run_after = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=128, null=True)
    lease_expires = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    # Enqueueing twice with the same key is a no-op: fan-out can be retried safely.
    dedupe_key = fields.CharField(max_length=255, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"
        indexes = (("state", "run_after"),)

    def __str__(self) -> str:
        return f"job {self.id} ({self.kind}, {self.state}, attempt {self.attempts})"


class ActorKey(Model):
    """A signing key pair of one of our actors (a blog, or the instance actor).

    The private key never leaves this table: it is not served and not logged."""

    id = fields.IntField(primary_key=True)
    actor = fields.CharField(max_length=128, db_index=True)  # blog name, or INSTANCE_ACTOR
    algorithm = fields.CharField(max_length=16)  # "rsa" (RSA-2048) or "ed25519"
    private_pem = fields.TextField()
    public_pem = fields.TextField()
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "actor_keys"

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.id} of {self.actor}"


class PostState(StrEnum):
    LIVE = "live"
    GONE = "gone"  # the permalink answered 404 or 410


class BlogPost(Model):
    """A post of one of our blogs as last read, with where each field came from.

    `fingerprint` hashes the normalised post (not its provenance), so a change
    of wording is an edit and a change of source is not.
    """

    id = fields.BigIntField(primary_key=True)
    blog = fields.CharField(max_length=64)
    url = fields.CharField(max_length=2000)  # the canonical permalink
    state = fields.CharEnumField(PostState, max_length=8, default=PostState.LIVE)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField()  # post.post_to_dict(): the normalised post
    sources: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)  # field -> where it came from
    fingerprint = fields.CharField(max_length=64)
    # What the feed said last time: unchanged, the page is not read again.
    feed_fingerprint = fields.CharField(max_length=64, null=True)
    published = fields.DatetimeField(null=True)
    # False for posts found by the first poll of a blog: they were there before the bridge.
    announce = fields.BooleanField(default=True)
    etag = fields.CharField(max_length=512, null=True)
    last_modified = fields.CharField(max_length=128, null=True)
    first_seen_at = fields.DatetimeField(auto_now_add=True)
    fetched_at = fields.DatetimeField()
    changed_at = fields.DatetimeField()
    gone_at = fields.DatetimeField(null=True)
    # Since when the post is missing from a feed that lists older ones (publish/polling.py).
    missing_since = fields.DatetimeField(null=True)

    class Meta:
        table = "posts"
        unique_together = (("blog", "url"),)
        indexes = (("blog", "published"),)

    def __str__(self) -> str:
        return f"post {self.url} of {self.blog} ({self.state})"


class BlogState(Model):
    """What the bridge knows about one configured blog between polls."""

    name = fields.CharField(max_length=64, primary_key=True)
    feed_url = fields.CharField(max_length=2000, null=True)  # discovered, unless configured
    feed_etag = fields.CharField(max_length=512, null=True)
    feed_last_modified = fields.CharField(max_length=128, null=True)
    polls = fields.IntField(default=0)  # 0 until the first successful poll
    last_poll_at = fields.DatetimeField(null=True)
    last_poll_error = fields.TextField(null=True)  # None when the last poll went well
    profile: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)  # post.profile_to_dict()
    profile_fingerprint = fields.CharField(max_length=64, null=True)
    profile_read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "blogs"

    def __str__(self) -> str:
        return f"blog {self.name}"


class RemoteActor(Model):
    """A fediverse actor we have fetched (a follower, a replier, a signer), cached."""

    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(max_length=2000, unique=True)  # the actor's id
    host = fields.CharField(max_length=255, db_index=True)
    inbox = fields.CharField(max_length=2000, null=True)
    shared_inbox = fields.CharField(max_length=2000, null=True)
    key_id = fields.CharField(max_length=2000, null=True)
    public_key_pem = fields.TextField(null=True)
    handle = fields.CharField(max_length=512, null=True)  # name@host, from preferredUsername
    name = fields.CharField(max_length=512, null=True)
    icon_url = fields.CharField(max_length=2000, null=True)
    profile_url = fields.CharField(max_length=2000, null=True)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)  # the document as fetched
    fetched_at = fields.DatetimeField()
    gone_at = fields.DatetimeField(null=True)  # the actor answered 410 or was deleted

    class Meta:
        table = "remote_actors"

    def __str__(self) -> str:
        return f"remote actor {self.uri}"


class RemoteHost(Model):
    """What we learned about one remote server: how it wants requests signed, whether it is up."""

    host = fields.CharField(max_length=255, primary_key=True)
    signature_scheme = fields.CharField(max_length=16, null=True)  # "cavage" or "rfc9421", once one worked
    unavailable_since = fields.DatetimeField(null=True)
    failures = fields.IntField(default=0)  # separate days with a failed delivery since the last success
    last_failure_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "remote_hosts"

    def __str__(self) -> str:
        return f"remote host {self.host}"


class FollowState(StrEnum):
    PENDING = "pending"  # waiting for the operator (manually_approves_followers)
    ACCEPTED = "accepted"


class Follower(Model):
    """A remote actor following one of our blogs. Inboxes are copied here so a fan-out to many followers
    reads one table. Removing an accepted one is counted by a trigger (bridge/models/history.py)."""

    id = fields.BigIntField(primary_key=True)
    blog = fields.CharField(max_length=64)
    actor_uri = fields.CharField(max_length=2000)
    inbox = fields.CharField(max_length=2000)
    shared_inbox = fields.CharField(max_length=2000, null=True)
    follow_id = fields.CharField(max_length=2000, null=True)  # the Follow activity's id, echoed in Accept/Reject
    state = fields.CharEnumField(FollowState, max_length=16, default=FollowState.ACCEPTED)
    created_at = fields.DatetimeField(auto_now_add=True)
    accepted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "followers"
        unique_together = (("blog", "actor_uri"),)
        indexes = (("blog", "state"), ("blog", "shared_inbox"), ("state", "accepted_at"))  # the last: the dashboard's history

    def __str__(self) -> str:
        return f"follower {self.actor_uri} of {self.blog} ({self.state})"


class InboxActivity(Model):
    """An activity that arrived at an inbox with a verified signature, kept until handled.

    Stored with its `inbox.process` job in one transaction before the sender gets
    its 202: once answered, it is not lost. `activity_id` is unique, so a redelivery
    (servers retry, shared inboxes fan in) is recognised and answered 202 again.
    """

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=2000, unique=True)
    actor = fields.CharField(max_length=2000)  # the verified signer, equal to the activity's actor
    type = fields.CharField(max_length=64)
    recipient = fields.CharField(max_length=64, null=True)  # the blog whose inbox it came to; None: shared inbox
    key_id = fields.CharField(max_length=2000)
    signature_scheme = fields.CharField(max_length=16)  # "cavage" or "rfc9421"
    body: fields.JSONField[dict[str, Any]] = fields.JSONField()
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbox_activities"

    def __str__(self) -> str:
        return f"inbox activity {self.activity_id} ({self.type} from {self.actor})"


class OutboundActivity(Model):
    """An activity we send to many inboxes, stored once: each delivery job names it by
    row id instead of carrying its own copy (a post to 100,000 followers is one row)."""

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(max_length=2000)
    body: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbound_activities"

    def __str__(self) -> str:
        return f"outbound activity {self.activity_id}"


class Block(Model):
    """A blocked fediverse actor (its id) or domain (a host name: its subdomains too),
    added by the operator (`interactions_admin.block`); the config's lists add to these.
    Their activities are answered 202 and dropped."""

    id = fields.IntField(primary_key=True)
    pattern = fields.CharField(max_length=2000, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blocks"

    def __str__(self) -> str:
        return f"block {self.pattern}"


class RemoteObject(Model):
    """A fediverse post a blog post or comment replies to, resolved once by fetching its URL
    as AS2: `inReplyTo` is then the same whether our reply is pushed or fetched, and the
    post's author is known (addressed, mentioned, delivered to)."""

    id = fields.BigIntField(primary_key=True)
    url = fields.CharField(max_length=2000, unique=True)  # as the blog linked it
    object_id = fields.CharField(max_length=2000)  # the AS2 document's id
    type = fields.CharField(max_length=64)
    attributed_to = fields.CharField(max_length=2000, null=True)
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "remote_objects"

    def __str__(self) -> str:
        return f"remote object {self.object_id}"


class RevokedSession(Model):
    """A dashboard session ended by logout (`admin_auth.revoke`). Sessions are signed
    cookies, not rows: only their revocation is stored, so every process refuses a stolen
    copy. Kept until the session would have expired anyway, then pruned."""

    sid = fields.CharField(max_length=64, primary_key=True)
    revoked_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "admin_revoked_sessions"

    def __str__(self) -> str:
        return f"revoked session {self.sid[:6]}"


class LoginFailure(Model):
    """One failed dashboard login from a client address: the login limit counts these in
    its window, so it holds across every bridge process on the database."""

    id = fields.BigIntField(primary_key=True)
    address = fields.CharField(max_length=64)
    failed_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "admin_login_failures"
        indexes = (("address", "failed_at"),)

    def __str__(self) -> str:
        return f"login failure from {self.address} at {self.failed_at}"
