"""Freeze a dataset version from the command line and build it in this process, then print its manifest."""

import json
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_actor, command_project
from governance.keyring import DataShredded
from governance.roles import Perm
from training.models import ConflictPolicy, DatasetStatus, DatasetVersion, Split
from training.services.datasets import dataset_version_build, dataset_version_create


@contextmanager
def _queued_tasks_run_here():
    """Run the build task the service queues in this process instead of sending it to a worker.

    A terminal is not a web request, so building here is allowed and the command can report the result;
    sending the task as well would let a worker build the same version at the same time.
    """
    from celery import current_app as app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


def _counts(counts: dict) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


class Command(BaseCommand):
    help = (
        "Freeze a dataset version of a project and build it here (no worker needed), then print its manifest. "
        "Acts as --user, or the project's creator; needs the curate_datasets permission (manager, ML engineer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        parser.add_argument("--user", help="Username to act as; defaults to the project's creator.")
        parser.add_argument("--name", default="", help="A name for the version.")
        parser.add_argument(
            "--policy",
            choices=ConflictPolicy.values,
            default=ConflictPolicy.MAJORITY,
            help="How disagreements are settled (default majority).",
        )
        parser.add_argument(
            "--reviewed-only", action="store_true", help="Only items a reviewer decided."
        )
        parser.add_argument(
            "--adjudicated-only", action="store_true", help="Only disagreements a reviewer settled."
        )
        parser.add_argument(
            "--min-agreement",
            type=float,
            help="Minimum share of annotators behind the kept answer, 0..1.",
        )
        parser.add_argument("--date-from", help="Last answered on or after this day (YYYY-MM-DD).")
        parser.add_argument("--date-to", help="Last answered on or before this day (YYYY-MM-DD).")
        parser.add_argument(
            "--label",
            action="append",
            dest="labels",
            help="Keep only this label (repeat for more).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the version and its manifest as JSON."
        )

    def handle(self, *args, project: int, user: str | None, **options):
        actor = command_actor(project, user)
        target = command_project(actor, project, perm=Perm.CURATE_DATASETS, doing="curate datasets")
        filters = {
            "reviewed_only": options["reviewed_only"],
            "adjudicated_only": options["adjudicated_only"],
            "min_agreement": options["min_agreement"],
            "date_from": options["date_from"],
            "date_to": options["date_to"],
            "labels": options["labels"] or [],
        }
        version = None
        try:
            with _queued_tasks_run_here():
                version = dataset_version_create(
                    actor=actor,
                    project=target,
                    name=options["name"],
                    filters=filters,
                    conflict_policy=options["policy"],
                )
            version.refresh_from_db()
            if version.is_active:
                # Inside an outer transaction (a test, a script's atomic block) the queued task waits for
                # a commit that comes after this command; build now so the command still reports a result.
                version = dataset_version_build(version_id=version.pk)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except DataShredded as error:
            raise CommandError(str(error)) from None
        except Exception:
            if version is None:
                raise
            version.refresh_from_db()  # the build recorded its error on the version
        if version.status != DatasetStatus.READY:
            raise CommandError(
                f"Dataset version {version.number} of project {target.pk} is {version.public_status}: "
                f"{version.error or 'the build stopped without recording why'}"
            )
        self._report(version, as_json=options["json"])

    def _report(self, version: DatasetVersion, *, as_json: bool) -> None:
        manifest = version.manifest
        if as_json:
            document = {
                "id": version.pk,
                "project": version.project_id,
                "number": version.number,
                "name": version.name,
                "status": version.status,
                "content_hash": version.content_hash,
                "item_count": version.item_count,
                "manifest": manifest,
            }
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Dataset version {version.number} (id {version.pk}) of project {version.project_id} is ready: "
                f"{version.item_count} items."
            )
        )
        rows = [
            ("content hash", f"sha256:{version.content_hash}"),
            (
                "splits",
                _counts({split: manifest["splits"].get(split, 0) for split in Split.values}),
            ),
        ]
        for label, counts in manifest.get("labels", {}).items():
            rows.append((f"label {label}", _counts(counts)))
        rows += [
            ("annotators", _counts(manifest.get("annotators", {}))),
            ("answer sources", _counts(manifest.get("answer_sources", {}))),
            ("dropped", _counts(manifest.get("dropped", {}))),
            ("conflict policy", version.conflict_policy),
            (
                "filters",
                json.dumps(version.filters, ensure_ascii=False) if version.filters else "none",
            ),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            self.stdout.write(f"  {name.ljust(width)}  {value}")
