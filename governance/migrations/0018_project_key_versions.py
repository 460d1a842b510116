# Versions of project data keys (issue 19, item 3).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0017_audit_archive"),
        ("projects", "0002_project_archived_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="projectkey",
            name="versioned",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="ProjectKeyReencrypt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="queued",
                        max_length=20,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("progress_done", models.PositiveIntegerField(default=0)),
                ("progress_total", models.PositiveIntegerField(default=0)),
                ("error", models.TextField(blank=True)),
                ("key_version", models.PositiveIntegerField(default=0)),
                ("reencrypted", models.PositiveIntegerField(default=0)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="projects.project"
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="ProjectKeyVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveIntegerField()),
                ("wrapped_key", models.BinaryField(null=True)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("primary", "Active (primary)"),
                            ("decrypt_only", "Decrypt only"),
                            ("disabled", "Disabled"),
                            ("destroyed", "Destroyed"),
                        ],
                        max_length=20,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("state_changed_at", models.DateTimeField(blank=True, null=True)),
                ("state_changed_by", models.CharField(blank=True, max_length=150)),
                (
                    "key",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="versions",
                        to="governance.projectkey",
                    ),
                ),
            ],
            options={
                "ordering": ["key", "-version"],
                "constraints": [
                    models.UniqueConstraint(fields=("key", "version"), name="governance_project_key_version_unique"),
                    models.UniqueConstraint(
                        condition=models.Q(("state", "primary")),
                        fields=("key",),
                        name="governance_one_primary_project_key_version",
                    ),
                ],
            },
        ),
    ]
