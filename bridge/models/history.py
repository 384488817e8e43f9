"""The dashboard's history table (tortoise-orm), a part of bridge/models: what the
overview's charts draw (bridge/ops/admin/history.py) and the other tables forget. Finished
deliveries are pruned after `queue.keep_done_days`, and a follower who leaves is a deleted
row; these counts stay.

Written by database triggers, not by Python (migration 0013_dashboard_history): a delivery
job that ends (done or dead) and an accepted follower removed are counted in the same
transaction as the change, by every process and every path that makes it (five places
remove followers, and the queue marks jobs done in raw SQL batches), with nothing for the
flows to remember. On PostgreSQL each connection counts into rows of its own (`shard`), so
concurrent workers never wait on one counter row, nor deadlock over two.

Warning: on SQLite a migration that rebuilds `jobs` or `followers` (an AlterField) drops
their triggers; it must create them again (the SQL is in 0013). tests/test_admin_charts.py
checks they exist after every migration.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class HistoryWhat(StrEnum):
    """What is counted. Stored by the triggers as text: never rename one."""

    DELIVERED = "delivered"  # a `deliver` job done
    FAILED = "failed"  # a `deliver` job dead: given up
    UNFOLLOWED = "unfollowed"  # an accepted follower removed (Undo, Block, 410, moved, the operator)


class HistoryCount(Model):
    """How many times `what` happened to `blog` in one UTC hour (one row per writer)."""

    id = fields.BigIntField(primary_key=True)
    hour = fields.DatetimeField()  # the start of the UTC hour
    blog = fields.CharField(max_length=64)  # a delivery's signer (`payload.actor`), a follower's blog
    what = fields.CharEnumField(HistoryWhat, max_length=16)
    # UNFOLLOWED: the start of the UTC day the follower had been accepted, so the follower count of
    # any past day is known; the others: the same as `hour`.
    since = fields.DatetimeField()
    shard = fields.BigIntField(default=0)  # PostgreSQL: the writer's backend pid; SQLite: 0
    n = fields.BigIntField(default=0)

    class Meta:
        table = "history_counts"
        unique_together = (("hour", "blog", "what", "since", "shard"),)

    def __str__(self) -> str:
        return f"{self.n} {self.what} for {self.blog} in the hour of {self.hour}"
