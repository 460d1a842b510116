"""Project moves from annotation to this app: the table, its rows and their permissions stay where they are.

Only Django's model state moves (the table keeps its name, annotation_project); the content type is
renamed so guardian's object permissions and the global add_project grants keep pointing at it.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _content_type_move(apps, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model="project").update(app_label=target)
    ContentType.objects.clear_cache()


def content_type_rename(apps, schema_editor):
    _content_type_move(apps, source="annotation", target="projects")


def content_type_restore(apps, schema_editor):
    _content_type_move(apps, source="projects", target="annotation")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('annotation', '0011_import_job_quoting'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Project',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('description', models.TextField(blank=True)),
                        ('task_type', models.CharField(choices=[('single_label', 'Single-label classification'), ('multi_label', 'Multi-label classification'), ('spans', 'Named-entity spans')], default='single_label', max_length=20)),
                        ('guidelines', models.TextField(blank=True)),
                        ('overlap', models.PositiveSmallIntegerField(default=1, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(50)])),
                        ('allow_overlapping_spans', models.BooleanField(default=False)),
                        ('review_policy', models.CharField(choices=[('disagreements', 'Review only items where annotators disagree'), ('all', 'Review every item')], default='disagreements', max_length=20)),
                        ('gold_rate', models.FloatField(default=0.1, validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1.0)])),
                        ('cleaning_policy', models.JSONField(blank=True, default=dict)),
                        ('pii_policy', models.CharField(choices=[('keep', 'Keep personal data, list findings for review'), ('mask', 'Mask personal data before it is stored'), ('pseudonymise', 'Replace personal data by reversible pseudonyms')], default='keep', max_length=20)),
                        ('neardup_threshold', models.FloatField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(0.05), django.core.validators.MaxValueValidator(1.0)])),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'annotation_project',
                        'ordering': ['id'],
                        'permissions': [('manage_members', 'Add and remove members and change their roles'), ('import_items', 'Import items'), ('browse_items', 'Browse all items of the project'), ('annotate', 'Label items from the queue'), ('view_annotations', "See every annotator's annotations"), ('export_data', 'Export annotations'), ('run_preannotation', 'Start model pre-annotation'), ('view_predictions', 'See model predictions'), ('review_annotations', 'Review annotations and settle disagreements'), ('view_quality', 'See agreement and quality figures'), ('curate_datasets', 'Freeze and export dataset versions'), ('train_models', 'Train, compare and activate models')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_rename, content_type_restore),
    ]
