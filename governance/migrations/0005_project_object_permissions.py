"""Direct foreign-key permission tables for projects, filled from django-guardian's generic rows."""

from itertools import islice

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BATCH = 2000
# (generic guardian model, direct model, holder field)
PAIRS = (
    ("UserObjectPermission", "ProjectUserObjectPermission", "user_id"),
    ("GroupObjectPermission", "ProjectGroupObjectPermission", "group_id"),
)


def _project_type(apps):
    ContentType = apps.get_model("contenttypes", "ContentType")
    return ContentType.objects.filter(app_label="annotation", model="project").first()


def _insert(model, rows) -> None:
    rows = iter(rows)
    while batch := list(islice(rows, BATCH)):
        model.objects.bulk_create(batch, ignore_conflicts=True)


def generic_to_direct(apps, schema_editor):
    project_type = _project_type(apps)
    if project_type is None:
        return
    # The generic table had no foreign key, so rows of deleted projects may linger there: dropped.
    existing = set(apps.get_model("annotation", "Project").objects.values_list("pk", flat=True))
    for generic_name, direct_name, holder in PAIRS:
        Generic = apps.get_model("guardian", generic_name)
        Direct = apps.get_model("governance", direct_name)
        rows = Generic.objects.filter(content_type=project_type)
        _insert(
            Direct,
            (
                Direct(
                    **{holder: getattr(row, holder)},
                    permission_id=row.permission_id,
                    content_object_id=int(row.object_pk),
                )
                for row in rows.iterator(chunk_size=BATCH)
                if row.object_pk.isdigit() and int(row.object_pk) in existing
            ),
        )
        rows.delete()


def direct_to_generic(apps, schema_editor):
    project_type = _project_type(apps)
    if project_type is None:
        return
    for generic_name, direct_name, holder in PAIRS:
        Generic = apps.get_model("guardian", generic_name)
        Direct = apps.get_model("governance", direct_name)
        rows = Direct.objects.all()
        _insert(
            Generic,
            (
                Generic(
                    **{holder: getattr(row, holder)},
                    permission_id=row.permission_id,
                    content_type=project_type,
                    object_pk=str(row.content_object_id),
                )
                for row in rows.iterator(chunk_size=BATCH)
            ),
        )
        rows.delete()


class Migration(migrations.Migration):
    # After every migration that granted project permissions into guardian's generic table.
    dependencies = [
        ("annotation", "0004_grant_workbench_perms"),
        ("annotation", "0005_training_perms"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("governance", "0004_audit_pages"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ProjectGroupObjectPermission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "content_object",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="annotation.project"
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.group"),
                ),
                (
                    "permission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="auth.permission"
                    ),
                ),
            ],
            options={
                "abstract": False,
                "indexes": [
                    models.Index(fields=["group", "content_object"], name="project_group_perm_idx")
                ],
                "unique_together": {("group", "permission", "content_object")},
            },
        ),
        migrations.CreateModel(
            name="ProjectUserObjectPermission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "content_object",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="annotation.project"
                    ),
                ),
                (
                    "permission",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="auth.permission"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "abstract": False,
                "indexes": [
                    models.Index(fields=["user", "content_object"], name="project_user_perm_idx")
                ],
                "unique_together": {("user", "permission", "content_object")},
            },
        ),
        migrations.RunPython(generic_to_direct, direct_to_generic),
    ]
