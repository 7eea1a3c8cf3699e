# Access control (RFC-0011) moves from governance to the intents app, where the permission checks of every intent
# route live, and the event log moves to the kernel: the models change app, the tables are renamed, the rows stay.

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('intents', '0006_list_filter_indexes_in_list_order'),
        ('openintent_site', '0002_intentevent'),
        ('governance', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AccessPolicy',
                    fields=[
                        ('intent', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='access_policy', serialize=False, to='intents.intent')),
                        ('default_policy', models.CharField(choices=[('open', 'open: every principal has full access'), ('closed', 'closed: only the creator and explicit grants'), ('restricted', 'restricted: only the creator and explicit grants'), ('private', 'private: the creator, assigned agents (write) and explicit grants')], default='open', max_length=20)),
                        ('updated_by', models.CharField(max_length=200)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'verbose_name_plural': 'access policies',
                        'db_table': 'governance_accesspolicy',
                    },
                ),
                migrations.CreateModel(
                    name='AccessRequest',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('principal_id', models.CharField(max_length=200)),
                        ('principal_type', models.CharField(choices=[('agent', 'Agent'), ('user', 'User'), ('human', 'Human'), ('service', 'Service')], default='agent', max_length=20)),
                        ('requested_permission', models.CharField(choices=[('read', 'Read'), ('write', 'Write'), ('admin', 'Admin')], default='write', max_length=10)),
                        ('reason', models.TextField(blank=True, default='')),
                        ('capabilities', models.JSONField(blank=True, default=list)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('denied', 'Denied')], default='pending', max_length=20)),
                        ('decided_by', models.CharField(blank=True, max_length=200, null=True)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('decision_reason', models.TextField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'ordering': ['created_at'],
                        'db_table': 'governance_accessrequest',
                    },
                ),
                migrations.CreateModel(
                    name='ACLEntry',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('principal_id', models.CharField(max_length=200)),
                        ('principal_type', models.CharField(choices=[('agent', 'Agent'), ('user', 'User'), ('human', 'Human'), ('service', 'Service')], default='agent', max_length=20)),
                        ('permission', models.CharField(choices=[('read', 'Read'), ('write', 'Write'), ('admin', 'Admin')], default='read', max_length=10)),
                        ('granted_by', models.CharField(max_length=200)),
                        ('granted_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('reason', models.TextField(blank=True, null=True)),
                    ],
                    options={
                        'verbose_name': 'ACL entry',
                        'verbose_name_plural': 'ACL entries',
                        'ordering': ['granted_at'],
                        'db_table': 'governance_aclentry',
                    },
                ),
                migrations.AlterField(
                    model_name='webhookdelivery',
                    name='event',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='openintent_site.intentevent'),
                ),
                migrations.AddField(
                    model_name='accessrequest',
                    name='intent',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='access_requests', to='intents.intent'),
                ),
                migrations.AddField(
                    model_name='aclentry',
                    name='intent',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='acl_entries', to='intents.intent'),
                ),
                migrations.DeleteModel(
                    name='IntentEvent',
                ),
                migrations.AddIndex(
                    model_name='accessrequest',
                    index=models.Index(fields=['status', 'created_at'], name='access_request_queue'),
                ),
                migrations.AddIndex(
                    model_name='aclentry',
                    index=models.Index(fields=['principal_id', 'intent'], name='acl_by_principal'),
                ),
                migrations.AddConstraint(
                    model_name='aclentry',
                    constraint=models.UniqueConstraint(fields=('intent', 'principal_id'), name='acl_one_entry_per_principal'),
                ),
            ],
        ),
        migrations.AlterModelTable(name='accesspolicy', table=None),
        migrations.AlterModelTable(name='accessrequest', table=None),
        migrations.AlterModelTable(name='aclentry', table=None),
    ]
