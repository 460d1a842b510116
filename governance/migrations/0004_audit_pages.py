"""Auditor pages: the auditor group, indexes for filtering the trail, and chain verification runs."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

AUDITOR_GROUP = "auditor"


def auditor_group_create(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=AUDITOR_GROUP)


def auditor_group_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=AUDITOR_GROUP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0003_audit_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('requested_at', models.DateTimeField(auto_now_add=True)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=10)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('intact', models.BooleanField(null=True)),
                ('checked', models.BigIntegerField(default=0)),
                ('first_broken_seq', models.BigIntegerField(blank=True, null=True)),
                ('reason', models.CharField(blank=True, max_length=200)),
                ('error', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.RemoveIndex(
            model_name='auditevent',
            name='audit_action_idx',
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['actor_name', 'seq'], name='audit_actor_name_idx'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action', 'seq'], name='audit_action_prefix_idx', opclasses=['varchar_pattern_ops', 'int8_ops']),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['created_at'], name='audit_created_idx'),
        ),
        migrations.AddField(
            model_name='auditverification',
            name='requested_by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(auditor_group_create, auditor_group_delete),
    ]
