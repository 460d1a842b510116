# Signed checkpoints of the audit trail and their per-sink deliveries (issue 19, item 1).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0010_schedule_run'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('size', models.BigIntegerField(unique=True)),
                ('head_hash', models.CharField(max_length=64)),
                ('origin', models.CharField(max_length=255)),
                ('note', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('audit_seq', models.BigIntegerField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-size'],
            },
        ),
        migrations.CreateModel(
            name='AuditCheckpointDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sink', models.CharField(max_length=500)),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('cosignatures', models.JSONField(blank=True, default=list)),
                ('checkpoint', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='governance.auditcheckpoint')),
            ],
            options={
                'indexes': [models.Index(fields=['sink', 'delivered_at'], name='checkpoint_pending_idx')],
                'constraints': [models.UniqueConstraint(fields=('checkpoint', 'sink'), name='checkpoint_delivery_once')],
            },
        ),
    ]
