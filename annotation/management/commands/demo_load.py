"""Create, once, an admin user and a small sentiment project to try the app with."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation.services.imports import items_import
from annotation.services.projects import project_create
from projects.models import Project, TaskType

DEMO_PROJECT_NAME = "Customer feedback (demo)"
DEMO_TEXTS = Path(__file__).resolve().parents[2] / "fixtures" / "demo_texts.jsonl"
DEMO_LABELS = [
    {
        "name": "positive",
        "color": "#2ca02c",
        "description": "The customer is pleased, grateful or recommends us.",
    },
    {
        "name": "negative",
        "color": "#d62728",
        "description": "The customer complains, is disappointed or angry.",
    },
    {
        "name": "neutral",
        "color": "#7f7f7f",
        "description": "A question, request or plain fact with no clear feeling.",
    },
]
DEMO_GUIDELINES = (
    "Pick the feeling the customer expresses about us, not about the world in general. "
    "Questions and requests without praise or complaint are neutral. "
    "If a message mixes praise and complaint, choose the one the customer ends on."
)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only the owner can read, since it holds a password."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
    os.chmod(path, 0o600)


class Command(BaseCommand):
    help = (
        "Create an admin user (random password stored in DATA_DIR/admin-password.txt) and a demo "
        "sentiment project with a few dozen short texts. Safe to run again: nothing is duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--password-file",
            type=Path,
            default=Path(settings.DATA_DIR) / "admin-password.txt",
            help="Where the generated admin password is kept (mode 0600).",
        )

    @transaction.atomic
    def handle(self, *args, username: str, password_file: Path, **options):
        admin, password_note = self._admin(username, password_file)
        project = Project.objects.filter(name=DEMO_PROJECT_NAME).order_by("id").first()
        if project is None:
            project = project_create(
                actor=admin,
                name=DEMO_PROJECT_NAME,
                task_type=TaskType.SINGLE_LABEL,
                description="Short customer messages to label as positive, negative or neutral.",
                guidelines=DEMO_GUIDELINES,
                labels=DEMO_LABELS,
            )
        added = 0
        if project.items.filter(external_id__startswith="demo-").count() < self._demo_row_count():
            with DEMO_TEXTS.open("rb") as stream:
                # Every demo row has an external id, so rows already present are skipped.
                added = items_import(
                    actor=admin, project=project, stream=stream, filename=DEMO_TEXTS.name
                ).created
        self.stdout.write(
            f"Demo project '{project.name}' (id {project.pk}): "
            f"{project.items.count()} items, {added} added now."
        )
        self.stdout.write(f"Login: {username} / {password_note}")

    @staticmethod
    def _demo_row_count() -> int:
        with DEMO_TEXTS.open("rb") as stream:
            return sum(1 for line in stream if line.strip())

    def _admin(self, username: str, password_file: Path):
        User = get_user_model()
        admin = User.objects.filter(username=username).first()
        if admin is not None:
            if password_file.exists():
                return (
                    admin,
                    f"{password_file.read_text().strip()}  "
                    f"(from {password_file}; unchanged if you changed it)",
                )
            return admin, "(existing user; password not managed by demo_load)"
        password = secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(username=username, email="", password=password)
        _write_private(password_file, password)
        return admin, f"{password}  (stored in {password_file})"
