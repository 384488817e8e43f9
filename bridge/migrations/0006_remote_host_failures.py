from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('bridge', '0005_inbox_activities')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RemoteHost',
            name='last_failure_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
