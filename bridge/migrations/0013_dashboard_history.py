"""The dashboard's history (bridge/models/history.py): its table, the triggers that count into it,
and the deliveries the queue still holds, counted once (finished ones are kept
`queue.keep_done_days`); the followers who left before this migration are not known.

The SQL is written here, frozen with the migration, for each database: a later migration that
rebuilds `jobs` or `followers` on SQLite must create the triggers again from it. A trigger must
never fail (it would undo the queue's done marks), hence the defaults and the cut blog names.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from bridge.models.history import HistoryWhat

# SQLite stores times as ISO text in UTC ("2026-11-01 12:34:56.789+00:00", the ORM's format):
# the hour is its first 13 characters.
_SQLITE_HOUR = "substr({0}, 1, 13) || ':00:00+00:00'"
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%S+00:00', 'now')"
_SQLITE_END = _SQLITE_HOUR.format(f"COALESCE(NEW.finished_at, {_SQLITE_NOW})")
_SQLITE_BLOG = "substr(COALESCE(CASE WHEN json_valid({0}) THEN json_extract({0}, '$.actor') END, ''), 1, 64)"
_UPSERT = "ON CONFLICT (hour, blog, what, since, shard) DO UPDATE SET n = history_counts.n + 1"

SQLITE = [
    f"""CREATE TRIGGER history_count_delivery AFTER UPDATE OF state ON jobs FOR EACH ROW
    WHEN NEW.kind = 'deliver' AND NEW.state IN ('done', 'dead') AND OLD.state IS NOT NEW.state
    BEGIN
        INSERT INTO history_counts (hour, blog, what, since, shard, n)
        VALUES ({_SQLITE_END}, {_SQLITE_BLOG.format("NEW.payload")},
                CASE NEW.state WHEN 'done' THEN 'delivered' ELSE 'failed' END, {_SQLITE_END}, 0, 1)
        {_UPSERT};
    END""",
    f"""CREATE TRIGGER history_count_unfollow AFTER DELETE ON followers FOR EACH ROW
    WHEN OLD.state = 'accepted'
    BEGIN
        INSERT INTO history_counts (hour, blog, what, since, shard, n)
        VALUES ({_SQLITE_HOUR.format(_SQLITE_NOW)}, OLD.blog, 'unfollowed',
                substr(COALESCE(OLD.accepted_at, OLD.created_at), 1, 10) || ' 00:00:00+00:00', 0, 1)
        {_UPSERT};
    END""",
    f"""INSERT INTO history_counts (hour, blog, what, since, shard, n)
    SELECT {_SQLITE_HOUR.format("finished_at")}, {_SQLITE_BLOG.format("payload")},
           CASE state WHEN 'done' THEN 'delivered' ELSE 'failed' END, {_SQLITE_HOUR.format("finished_at")}, 0, COUNT(*)
    FROM jobs WHERE kind = 'deliver' AND state IN ('done', 'dead') AND finished_at IS NOT NULL GROUP BY 1, 2, 3""",
]

# PostgreSQL: each connection (backend) counts into rows of its own, so two workers marking
# deliveries done at once never wait on one row (nor deadlock over two blogs' rows).
_PG_HOUR = "date_trunc('hour', {0} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_PG_DAY = "date_trunc('day', {0} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_PG_BLOG = "left(COALESCE({0}->>'actor', ''), 64)"

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION history_count_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        ended timestamptz := {_PG_HOUR.format("COALESCE(NEW.finished_at, now())")};
    BEGIN
        INSERT INTO history_counts (hour, blog, what, since, shard, n)
        VALUES (ended, {_PG_BLOG.format("NEW.payload")},
                CASE WHEN NEW.state = 'done' THEN 'delivered' ELSE 'failed' END, ended, pg_backend_pid(), 1)
        {_UPSERT};
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER history_count_delivery AFTER UPDATE OF state ON jobs FOR EACH ROW
    WHEN (NEW.kind = 'deliver' AND NEW.state IN ('done', 'dead') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION history_count_delivery()""",
    f"""CREATE OR REPLACE FUNCTION history_count_unfollow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO history_counts (hour, blog, what, since, shard, n)
        VALUES ({_PG_HOUR.format("now()")}, OLD.blog, 'unfollowed',
                {_PG_DAY.format("COALESCE(OLD.accepted_at, OLD.created_at)")}, pg_backend_pid(), 1)
        {_UPSERT};
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER history_count_unfollow AFTER DELETE ON followers FOR EACH ROW
    WHEN (OLD.state = 'accepted') EXECUTE FUNCTION history_count_unfollow()""",
    f"""INSERT INTO history_counts (hour, blog, what, since, shard, n)
    SELECT {_PG_HOUR.format("finished_at")}, {_PG_BLOG.format("payload")},
           CASE WHEN state = 'done' THEN 'delivered' ELSE 'failed' END, {_PG_HOUR.format("finished_at")}, 0, COUNT(*)
    FROM jobs WHERE kind = 'deliver' AND state IN ('done', 'dead') AND finished_at IS NOT NULL GROUP BY 1, 2, 3, 4""",
]

DROP = ["DROP TRIGGER IF EXISTS history_count_delivery ON jobs", "DROP TRIGGER IF EXISTS history_count_unfollow ON followers",
        "DROP FUNCTION IF EXISTS history_count_delivery()", "DROP FUNCTION IF EXISTS history_count_unfollow()"]
DROP_SQLITE = ["DROP TRIGGER IF EXISTS history_count_delivery", "DROP TRIGGER IF EXISTS history_count_unfollow"]


def _postgres(editor: Any) -> bool:
    return bool(editor.client.capabilities.dialect == "postgres")


async def count_history(_apps: Any, editor: Any) -> None:
    """The triggers, then the deliveries already finished. One statement a call: SQLite's
    schema editor would split a trigger's body at its semicolons."""
    for sql in POSTGRES if _postgres(editor) else SQLITE:
        await editor.client.execute_script(sql) if _postgres(editor) else await editor.client.execute_query(sql)


async def uncount_history(_apps: Any, editor: Any) -> None:
    for sql in DROP if _postgres(editor) else DROP_SQLITE:
        await editor.client.execute_script(sql) if _postgres(editor) else await editor.client.execute_query(sql)

class Migration(migrations.Migration):
    dependencies = [('bridge', '0012_outbound_follows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HistoryCount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('hour', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('blog', fields.CharField(max_length=64)),
                ('what', fields.CharEnumField(description='DELIVERED: delivered\nFAILED: failed\nUNFOLLOWED: unfollowed', enum_type=HistoryWhat, max_length=16)),
                ('since', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('shard', fields.BigIntField(default=0)),
                ('n', fields.BigIntField(default=0)),
            ],
            options={'table': 'history_counts', 'app': 'bridge', 'unique_together': (('hour', 'blog', 'what', 'since', 'shard'),), 'pk_attr': 'id', 'table_description': 'How many times `what` happened to `blog` in one UTC hour (one row per writer).'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Follower',
            options={'table': 'followers', 'app': 'bridge', 'unique_together': (('blog', 'actor_uri'),), 'indexes': [Index(fields=['blog', 'state']), Index(fields=['blog', 'shared_inbox']), Index(fields=['state', 'accepted_at'])], 'pk_attr': 'id', 'table_description': 'A remote actor following one of our blogs. Inboxes are copied here so a fan-out to many followers'},
        ),
        ops.AddIndex(
            model_name='Follower',
            index=Index(fields=['state', 'accepted_at']),
        ),
        ops.AddIndex(
            model_name='Interaction',
            index=Index(fields=['created_at']),
        ),
        ops.AlterModelOptions(
            name='Job',
            options={'table': 'jobs', 'app': 'bridge', 'indexes': [Index(fields=['state', 'run_after'])], 'pk_attr': 'id', 'table_description': 'One unit of durable work: a delivery, a webmention, an inbox activity to handle… Enqueued in the'},
        ),
        ops.RunPython(count_history, uncount_history),
    ]
