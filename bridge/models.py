"""Database tables (tortoise-orm). Schema changes go through bridge/migrations.

Times are timezone-aware UTC datetimes. Every table the flows write carries
what an operator needs to see why something happened (attempts, last error).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class JobState(StrEnum):
    """The closed set of states a job moves through."""

    QUEUED = "queued"  # waiting for run_after
    RUNNING = "running"  # leased by a worker until lease_expires
    DONE = "done"
    DEAD = "dead"  # gave up: permanent failure or out of attempts; kept with last_error


class Job(Model):
    """One unit of durable work: a delivery, a webmention, an inbox activity to handle…

    A job is enqueued in the same transaction as the state change that causes
    it, so the two commit or roll back together.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    payload = fields.JSONField(default=dict)
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

    The private key never leaves this table: it is not served and not logged.
    """

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
