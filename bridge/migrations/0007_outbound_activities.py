import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('bridge', '0006_remote_host_failures')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboundActivity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(max_length=2000)),
                ('body', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'outbound_activities', 'app': 'bridge', 'pk_attr': 'id', 'table_description': 'An activity we send to many inboxes, stored once: each delivery job names it by'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Follower',
            index=Index(fields=['blog', 'shared_inbox']),
        ),
    ]
