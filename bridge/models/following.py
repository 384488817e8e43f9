"""The table of the accounts our blogs follow (tortoise-orm), a part of bridge/models.

Kept in a file of its own only because models.py is at the house's 400-line limit
(tests/test_layering.py): models.py re-exports it, so it is imported from `bridge.models`
like every table, found there by tortoise, and moves back in when models.py is split.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class OutboundFollowState(StrEnum):
    PENDING = "pending"  # our Follow is queued or sent, not answered yet
    ACCEPTED = "accepted"  # answered with an Accept
    REJECTED = "rejected"  # answered with a Reject: kept, and not asked again until the blog opts out and in


class OutboundFollow(Model):
    """An account one of our blogs follows: Bridgy Fed's Bluesky bot for a blog with `bluesky = true`
    (bridge/publish/following.py). The Accept or Reject that answers it echoes `follow_id`
    (bridge/inbox/following.py); the row is removed with the Undo when the blog opts out."""

    id = fields.BigIntField(primary_key=True)
    blog = fields.CharField(max_length=64)
    handle = fields.CharField(max_length=512)  # "@user@host", as the config names the account
    actor_uri = fields.CharField(max_length=2000)  # the actor WebFinger named for the handle
    follow_id = fields.CharField(max_length=2000, unique=True)  # our Follow's id
    state = fields.CharEnumField(OutboundFollowState, max_length=16, default=OutboundFollowState.PENDING)
    created_at = fields.DatetimeField(auto_now_add=True)
    answered_at = fields.DatetimeField(null=True)  # when the Accept or Reject was handled

    class Meta:
        table = "outbound_follows"
        unique_together = (("blog", "handle"),)

    def __str__(self) -> str:
        return f"follow of {self.handle} by {self.blog} ({self.state})"
