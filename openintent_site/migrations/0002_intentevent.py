# The intent event log moves from the intents app to the kernel, where every app appends to it: the model
# changes app, the table is renamed, the rows stay.

import django.db.models.deletion
import django.utils.timezone
import openintent_site.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('intents', '0006_list_filter_indexes_in_list_order'),
        ('openintent_site', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='IntentEvent',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('txid', models.BigIntegerField(db_default=openintent_site.models.CurrentTransactionId(), editable=False)),
                        ('event_type', models.CharField(max_length=100)),
                        ('actor', models.CharField(max_length=200)),
                        ('payload', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('intent', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='intents.intent')),
                    ],
                    options={
                        'ordering': ['-id'],
                        'db_table': 'intents_intentevent',
                        'indexes': [models.Index(fields=['intent', '-id'], name='event_intent_recent'), models.Index(fields=['intent', 'event_type', '-id'], name='event_intent_type_recent'), models.Index(fields=['txid', 'id'], name='event_commit_order')],
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name='intentevent', table=None),
    ]
