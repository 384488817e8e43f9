from tortoise import migrations
from tortoise.migrations import operations as ops
from bridge.models import InteractionKind
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('bridge', '0010_wordpress_threads_and_missing_posts')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Interaction',
            name='kind',
            field=fields.CharEnumField(description='REPLY: reply\nLIKE: like\nREPOST: repost\nQUOTE: quote', enum_type=InteractionKind, max_length=8),
        ),
    ]
