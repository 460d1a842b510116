"""Give existing members the permissions their roles gained with review, quality, datasets and training."""

from django.db import migrations

# Frozen copy of what the role table added in this change; the live table may change later.
ADDED = {
    "manager": ("review_annotations", "view_quality", "curate_datasets", "train_models"),
    "reviewer": ("review_annotations", "view_quality"),
    "ml_engineer": ("view_quality", "curate_datasets", "train_models"),
}
NAMES = {
    "review_annotations": "Review annotations and settle disagreements",
    "view_quality": "See agreement and quality figures",
    "curate_datasets": "Freeze and export dataset versions",
    "train_models": "Train, compare and activate models",
}


def grant(apps, schema_editor):
    Membership = apps.get_model("governance", "Membership")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    UserObjectPermission = apps.get_model("guardian", "UserObjectPermission")
    memberships = Membership.objects.filter(role__in=ADDED)
    if not memberships.exists():
        return
    content_type, _ = ContentType.objects.get_or_create(app_label="annotation", model="project")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in NAMES.items()
    }
    for membership in memberships.iterator():
        for codename in ADDED[membership.role]:
            UserObjectPermission.objects.get_or_create(
                user_id=membership.user_id,
                permission=permissions[codename],
                content_type=content_type,
                object_pk=str(membership.project_id),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0003_workbench"),
        ("governance", "0001_initial"),
        ("guardian", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
