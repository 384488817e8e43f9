import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from bridge.models import FollowState


class Migration(migrations.Migration):
    dependencies = [('bridge', '0003_posts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Follower',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blog', fields.CharField(max_length=64)),
                ('actor_uri', fields.CharField(max_length=2000)),
                ('inbox', fields.CharField(max_length=2000)),
                ('shared_inbox', fields.CharField(null=True, max_length=2000)),
                ('follow_id', fields.CharField(null=True, max_length=2000)),
                ('state', fields.CharEnumField(default=FollowState.ACCEPTED, description='PENDING: pending\nACCEPTED: accepted', enum_type=FollowState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'followers', 'app': 'bridge', 'unique_together': (('blog', 'actor_uri'),), 'indexes': [Index(fields=['blog', 'state'])], 'pk_attr': 'id', 'table_description': 'A remote actor following one of our blogs. Inboxes are copied here so a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteActor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uri', fields.CharField(unique=True, max_length=2000)),
                ('host', fields.CharField(db_index=True, max_length=255)),
                ('inbox', fields.CharField(null=True, max_length=2000)),
                ('shared_inbox', fields.CharField(null=True, max_length=2000)),
                ('key_id', fields.CharField(null=True, max_length=2000)),
                ('public_key_pem', fields.TextField(null=True, unique=False)),
                ('handle', fields.CharField(null=True, max_length=512)),
                ('name', fields.CharField(null=True, max_length=512)),
                ('icon_url', fields.CharField(null=True, max_length=2000)),
                ('profile_url', fields.CharField(null=True, max_length=2000)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('gone_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_actors', 'app': 'bridge', 'pk_attr': 'id', 'table_description': 'A fediverse actor we have fetched (a follower, a replier, a signer), cached.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteHost',
            fields=[
                ('host', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('signature_scheme', fields.CharField(null=True, max_length=16)),
                ('unavailable_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failures', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'remote_hosts', 'app': 'bridge', 'pk_attr': 'host', 'table_description': 'What we learned about one remote server: how it wants requests signed, whether it is up.'},
            bases=['Model'],
        ),
    ]
