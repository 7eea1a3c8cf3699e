# Access control (RFC-0011) moved to the intents app (intents 0007, which also renamed the tables).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0001_initial'),
        ('intents', '0007_access_control_and_event_log_move'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='accessrequest',
                    name='intent',
                ),
                migrations.RemoveField(
                    model_name='aclentry',
                    name='intent',
                ),
                migrations.DeleteModel(
                    name='AccessPolicy',
                ),
                migrations.DeleteModel(
                    name='AccessRequest',
                ),
                migrations.DeleteModel(
                    name='ACLEntry',
                ),
            ],
        ),
    ]
