import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from bridge.models import PostState


class Migration(migrations.Migration):
    dependencies = [('bridge', '0002_actor_keys')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BlogPost',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blog', fields.CharField(max_length=64)),
                ('url', fields.CharField(max_length=2000)),
                ('state', fields.CharEnumField(default=PostState.LIVE, description='LIVE: live\nGONE: gone', enum_type=PostState, max_length=8)),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('sources', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('feed_fingerprint', fields.CharField(null=True, max_length=64)),
                ('published', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('announce', fields.BooleanField(default=True)),
                ('etag', fields.CharField(null=True, max_length=512)),
                ('last_modified', fields.CharField(null=True, max_length=128)),
                ('first_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('gone_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'posts', 'app': 'bridge', 'unique_together': (('blog', 'url'),), 'indexes': [Index(fields=['blog', 'published'])], 'pk_attr': 'id', 'table_description': 'A post of one of our blogs as last read, with where each field came from.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BlogState',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('feed_url', fields.CharField(null=True, max_length=2000)),
                ('feed_etag', fields.CharField(null=True, max_length=512)),
                ('feed_last_modified', fields.CharField(null=True, max_length=128)),
                ('polls', fields.IntField(default=0)),
                ('last_poll_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_poll_error', fields.TextField(null=True, unique=False)),
                ('profile', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('profile_fingerprint', fields.CharField(null=True, max_length=64)),
                ('profile_read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'blogs', 'app': 'bridge', 'pk_attr': 'name', 'table_description': 'What the bridge knows about one configured blog between polls.'},
            bases=['Model'],
        ),
    ]
