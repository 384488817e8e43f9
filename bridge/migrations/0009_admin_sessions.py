from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('bridge', '0008_interactions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('address', fields.CharField(max_length=64)),
                ('failed_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'admin_login_failures', 'app': 'bridge', 'indexes': [Index(fields=['address', 'failed_at'])], 'pk_attr': 'id', 'table_description': 'One failed dashboard login from a client address: the login limit counts these in'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RevokedSession',
            fields=[
                ('sid', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('revoked_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'admin_revoked_sessions', 'app': 'bridge', 'pk_attr': 'sid', 'table_description': 'A dashboard session ended by logout (`admin_auth.revoke`). Sessions are signed'},
            bases=['Model'],
        ),
    ]
