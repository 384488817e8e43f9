from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('bridge', '0009_admin_sessions')]

    initial = False

    operations = [
        ops.AddField(
            model_name='BlogPost',
            name='missing_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Interaction',
            name='webmention_target',
            field=fields.CharField(null=True, max_length=2000),
        ),
    ]
