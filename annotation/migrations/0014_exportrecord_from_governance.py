"""ExportRecord moves from governance to annotation: only Django's state moves, the table keeps its name
(governance_exportrecord) and its rows; the content type follows, so audit targets keep resolving.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _content_type_move(apps, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model="exportrecord").update(app_label=target)
    ContentType.objects.clear_cache()


def content_type_rename(apps, schema_editor):
    _content_type_move(apps, source="governance", target="annotation")


def content_type_restore(apps, schema_editor):
    _content_type_move(apps, source="annotation", target="governance")

class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('governance', '0008_audit_verification_lifecycle'),
        ('annotation', '0013_import_job_lifecycle'),
        ('projects', '0001_initial'),
        ('training', '0007_job_lifecycle'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ExportRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('format', models.CharField(max_length=10)),
                        ('redacted', models.BooleanField(default=False)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('ready', 'Ready'), ('failed', 'Failed'), ('erased', 'Erased')], default='queued', max_length=10)),
                        ('items_total', models.PositiveIntegerField(default=0)),
                        ('items_done', models.PositiveIntegerField(default=0)),
                        ('item_ranges', models.JSONField(blank=True, default=list)),
                        ('file_path', models.CharField(blank=True, max_length=500)),
                        ('file_bytes', models.PositiveBigIntegerField(default=0)),
                        ('error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('erased_at', models.DateTimeField(blank=True, null=True)),
                        ('dataset_version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='training.datasetversion')),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='export_records', to='projects.project')),
                        ('requested_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'governance_exportrecord',
                        'ordering': ['-id'],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_rename, content_type_restore),
    ]
