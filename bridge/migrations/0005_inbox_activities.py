import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('bridge', '0004_remote_actors_and_followers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboxActivity',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(unique=True, max_length=2000)),
                ('actor', fields.CharField(max_length=2000)),
                ('type', fields.CharField(max_length=64)),
                ('recipient', fields.CharField(null=True, max_length=64)),
                ('key_id', fields.CharField(max_length=2000)),
                ('signature_scheme', fields.CharField(max_length=16)),
                ('body', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'inbox_activities', 'app': 'bridge', 'pk_attr': 'id', 'table_description': 'An activity that arrived at an inbox with a verified signature, kept until handled.'},
            bases=['Model'],
        ),
    ]
