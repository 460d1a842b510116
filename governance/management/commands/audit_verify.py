"""Verify the audit hash chain and name the first broken event; with --checkpoints, against signed checkpoints too."""

from django.core.management.base import BaseCommand, CommandError

from governance.audit import audit_chain_verify
from governance.checkpoints.note import CheckpointError, note_key_from_vkey
from governance.checkpoints.verify import audit_checkpoints_verify, checkpoint_sources_read
from governance.checkpoints.witness_verify import (
    checkpoint_cosignatures_verify,
    witness_keys_from_vkeys,
)
from governance.selectors.checkpoints import checkpoint_config, checkpoint_signing_key

# Contradictions listed after the first; the rest are counted.
SHOWN = 20


class Command(BaseCommand):
    help = (
        "Walk the audit trail in order, across its archive files and the table, and report the first event "
        "whose hash link is broken. With "
        "--checkpoints, also check it against every signed checkpoint there and name the first it contradicts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoints",
            action="append",
            default=[],
            help="A checkpoint folder (path or file:// URL) or a file of notes (e.g. a syslog receiver's output). Repeatable.",
        )
        parser.add_argument(
            "--key",
            action="append",
            default=[],
            help=(
                "A vkey to trust for checkpoints and archive files (repeatable); "
                "default: the public half of AUDIT_CHECKPOINT_KEY_FILE."
            ),
        )
        parser.add_argument("--origin", help="Require this origin (default: the one most notes carry).")
        parser.add_argument(
            "--witness-vkey",
            action="append",
            default=[],
            help="Require on every checkpoint a valid cosignature by this witness (repeatable; docs/audit-witness.md).",
        )

    def handle(self, *args, checkpoints: list[str], key: list[str], origin: str | None, **options):
        if options["witness_vkey"] and not checkpoints:
            raise CommandError("--witness-vkey checks the checkpoints read from --checkpoints: name at least one.")
        if not checkpoints:
            # Archive files (docs/audit-archive.md) are checked with the --key vkeys, else the configured key.
            try:
                keys = [note_key_from_vkey(text) for text in key] or None
            except CheckpointError as error:
                raise CommandError(str(error)) from None
            report = audit_chain_verify(keys=keys)
            if not report.ok:
                raise CommandError(
                    f"Audit chain broken at event #{report.first_broken_seq}: {report.reason} "
                    f"({report.checked} events verified before it)."
                )
            self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
            return
        try:
            keys = [note_key_from_vkey(text) for text in key] or [checkpoint_signing_key(checkpoint_config()).public_only()]
            sources = [source for location in checkpoints for source in checkpoint_sources_read(location)]
            witnesses = witness_keys_from_vkeys(options["witness_vkey"])
        except CheckpointError as error:
            raise CommandError(str(error)) from None
        report = audit_checkpoints_verify(sources=sources, keys=keys, origin=origin)
        report.contradictions += checkpoint_cosignatures_verify(sources=sources, witness_keys=witnesses)
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Audit chain intact: {report.checked} events verified, consistent with {report.checkpoints} "
                    f"signed checkpoint(s) up to size {report.largest_size}. Events after it are not covered."
                )
            )
            if witnesses:
                self.stdout.write(f"Each checkpoint is cosigned by {', '.join(w.name for w in witnesses)}.")
            return
        lines = []
        if report.first_broken_seq is not None:
            lines.append(f"Audit chain broken at event #{report.first_broken_seq}: {report.chain_reason}.")
        first = report.first
        if first is not None:
            lines.append(f"First contradicted {first.describe()}")
            others = sorted((c for c in report.contradictions if c is not first), key=lambda c: c.size or -1)
            lines += [f"Also: {c.describe()}" for c in others[:SHOWN]]
            if len(others) > SHOWN:
                lines.append(f"… and {len(others) - SHOWN} more.")
        raise CommandError("\n".join(lines))
