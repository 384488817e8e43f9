from tortoise import migrations
from tortoise.migrations import operations as ops
from bridge.models import OutboundFollowState
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('bridge', '0011_interaction_kind_quote')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboundFollow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blog', fields.CharField(max_length=64)),
                ('handle', fields.CharField(max_length=512)),
                ('actor_uri', fields.CharField(max_length=2000)),
                ('follow_id', fields.CharField(unique=True, max_length=2000)),
                ('state', fields.CharEnumField(default=OutboundFollowState.PENDING, description='PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected', enum_type=OutboundFollowState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbound_follows', 'app': 'bridge', 'unique_together': (('blog', 'handle'),), 'pk_attr': 'id', 'table_description': "An account one of our blogs follows: Bridgy Fed's Bluesky bot for a blog with `bluesky = true`"},
            bases=['Model'],
        ),
    ]
