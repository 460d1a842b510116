"""Export a ready dataset version as JSONL, CSV or CoNLL to a file or standard output, audited like a download."""

import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from governance.commands import command_actor, command_project
from governance.keyring import DataShredded
from governance.roles import Perm
from training.models import Split
from training.selectors.datasets import dataset_version_by_number
from training.services.dataset_exports import DATASET_EXPORT_FORMATS, dataset_version_export


class Command(BaseCommand):
    help = (
        "Write a dataset version's records (item texts included) to --output, or to standard output. "
        "The export and every item it holds are recorded in the audit trail under the acting user "
        "(--user, or the project's creator), who needs the curate_datasets permission."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, required=True, help="Project id.")
        # Django keeps --version for itself (the Django version).
        parser.add_argument(
            "--number",
            "--dataset-version",
            type=int,
            required=True,
            dest="number",
            help="Version number (1, 2, ...).",
        )
        parser.add_argument(
            "--format", choices=sorted(DATASET_EXPORT_FORMATS), default="jsonl", dest="fmt"
        )
        parser.add_argument("--split", choices=Split.values, default="", help="Only this split.")
        parser.add_argument(
            "--output",
            "-o",
            default="-",
            help="File to write; '-' (the default) for standard output.",
        )
        parser.add_argument("--user", help="Username to act as; defaults to the project's creator.")

    def handle(
        self,
        *args,
        project: int,
        number: int,
        fmt: str,
        split: str,
        output: str,
        user: str | None,
        **options,
    ):
        actor = command_actor(project, user)
        target = command_project(actor, project, perm=Perm.CURATE_DATASETS, doing="curate datasets")
        try:
            version = dataset_version_by_number(project=target, number=number)
        except Http404 as error:
            raise CommandError(str(error)) from None
        try:
            chunks = dataset_version_export(actor=actor, version=version, fmt=fmt, split=split)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except DataShredded as error:
            raise CommandError(str(error)) from None
        if output == "-":
            for chunk in chunks:
                self.stdout.write(chunk.decode(), ending="")
            return
        size = self._write(Path(output), chunks)
        self.stderr.write(
            f"Wrote {size} bytes of dataset version {version.number} ({fmt}) to {output}."
        )

    def _write(self, path: Path, chunks) -> int:
        """Write through a temporary file beside ``path``, so a failed export leaves no half file behind."""
        partial = path.with_name(path.name + ".partial")
        size = 0
        try:
            with open(partial, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
            os.replace(partial, path)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Could not write {path}: {error}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return size
