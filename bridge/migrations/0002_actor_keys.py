from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('bridge', '0001_jobs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActorKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(db_index=True, max_length=128)),
                ('algorithm', fields.CharField(max_length=16)),
                ('private_pem', fields.TextField(unique=False)),
                ('public_pem', fields.TextField(unique=False)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'actor_keys', 'app': 'bridge', 'pk_attr': 'id', 'table_description': 'A signing key pair of one of our actors (a blog, or the instance actor).'},
            bases=['Model'],
        ),
    ]
