import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from bridge.models import InteractionKind, InteractionState, Visibility, WebmentionState


class Migration(migrations.Migration):
    dependencies = [('bridge', '0007_outbound_activities')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Block',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('pattern', fields.CharField(unique=True, max_length=2000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'blocks', 'app': 'bridge', 'pk_attr': 'id', 'table_description': 'A blocked fediverse actor (its id) or domain (a host name: its subdomains too),'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Interaction',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blog', fields.CharField(max_length=64)),
                ('kind', fields.CharEnumField(description='REPLY: reply\nLIKE: like\nREPOST: repost', enum_type=InteractionKind, max_length=8)),
                ('object_id', fields.CharField(unique=True, max_length=2000)),
                ('activity_id', fields.CharField(null=True, max_length=2000)),
                ('url', fields.CharField(null=True, max_length=2000)),
                ('actor_uri', fields.CharField(max_length=2000)),
                ('host', fields.CharField(max_length=255)),
                ('author_name', fields.CharField(null=True, max_length=512)),
                ('author_photo', fields.CharField(null=True, max_length=2000)),
                ('author_url', fields.CharField(null=True, max_length=2000)),
                ('author_handle', fields.CharField(null=True, max_length=512)),
                ('content', fields.TextField(null=True, unique=False)),
                ('summary', fields.TextField(null=True, unique=False)),
                ('visibility', fields.CharEnumField(default=Visibility.PUBLIC, description='PUBLIC: public\nUNLISTED: unlisted\nFOLLOWERS: followers\nDIRECT: direct', enum_type=Visibility, max_length=16)),
                ('in_reply_to', fields.CharField(null=True, max_length=2000)),
                ('target_url', fields.CharField(max_length=2000)),
                ('post_id', fields.BigIntField(null=True)),
                ('parent_id', fields.BigIntField(null=True)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharEnumField(default=InteractionState.PUBLISHED, description='HELD: held\nPUBLISHED: published\nPRIVATE: private\nREJECTED: rejected\nDELETED: deleted', enum_type=InteractionState, max_length=16)),
                ('published', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('edited', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('webmention_state', fields.CharEnumField(default=WebmentionState.NONE, description='NONE: none\nQUEUED: queued\nSENT: sent\nNO_ENDPOINT: no_endpoint\nFAILED: failed', enum_type=WebmentionState, max_length=16)),
                ('webmention_endpoint', fields.CharField(null=True, max_length=2000)),
                ('webmention_status', fields.IntField(null=True)),
                ('webmention_error', fields.TextField(null=True, unique=False)),
                ('webmention_location', fields.CharField(null=True, max_length=2000)),
                ('webmention_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('webmentions_sent', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'interactions', 'app': 'bridge', 'indexes': [Index(fields=['blog', 'state']), Index(fields=['actor_uri', 'created_at']), Index(fields=['host', 'created_at']), Index(fields=['target_url'])], 'pk_attr': 'id', 'table_description': 'A reply, like or boost of one of our posts from the fediverse, with its own h-entry'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteObject',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(unique=True, max_length=2000)),
                ('object_id', fields.CharField(max_length=2000)),
                ('type', fields.CharField(max_length=64)),
                ('attributed_to', fields.CharField(null=True, max_length=2000)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_objects', 'app': 'bridge', 'pk_attr': 'id', 'table_description': 'A fediverse post a blog post or comment replies to, resolved once by fetching its URL'},
            bases=['Model'],
        ),
    ]
