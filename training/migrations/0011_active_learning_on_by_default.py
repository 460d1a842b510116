"""New projects start with active learning on (margin for single-label, random for multi-label,
entropy for spans); every project that exists now and has no loop row yet gets one that is off,
as it was before, so no existing queue changes order."""

from django.db import migrations, models


def existing_projects_keep_off(apps, schema_editor):
    """One "off" row for each project without a row: a single query and a batched insert."""
    Project = apps.get_model("projects", "Project")
    ActiveLearning = apps.get_model("training", "ActiveLearning")
    missing = Project.objects.filter(active_learning__isnull=True).values_list("pk", flat=True)
    ActiveLearning.objects.bulk_create(
        (ActiveLearning(project_id=pk, strategy="off") for pk in missing.iterator()), batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("training", "0010_active_learning_refresh_job"),
    ]

    operations = [
        migrations.AlterField(
            model_name="activelearning",
            name="strategy",
            field=models.CharField(
                choices=[
                    ("off", "Off (import order)"),
                    ("random", "Random"),
                    ("least_confidence", "Least confidence"),
                    ("margin", "Margin"),
                    ("entropy", "Entropy"),
                    ("diversity", "Uncertain and diverse (batch)"),
                ],
                default="margin",
                max_length=20,
            ),
        ),
        # Reversed, the old default is "off" again: the rows added here say what it would.
        migrations.RunPython(existing_projects_keep_off, migrations.RunPython.noop),
    ]
