"""Generate the Ed25519 key that signs audit checkpoints, as a PEM file only its owner can read."""

import os

from django.core.management.base import BaseCommand, CommandError

from governance.checkpoints.note import CheckpointError, note_key_generate
from governance.selectors.checkpoints import checkpoint_config


class Command(BaseCommand):
    help = (
        "Write a new Ed25519 checkpoint signing key to --out (mode 0600, never overwriting) and print its "
        "vkey, the public key verifiers and witnesses are given. Point AUDIT_CHECKPOINT_KEY_FILE at the file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Path of the PEM file to create.")
        parser.add_argument("--name", help="Key name (default: AUDIT_CHECKPOINT_ORIGIN, which signing uses).")

    def handle(self, *args, out: str, name: str | None, **options):
        try:
            key = note_key_generate(name or checkpoint_config().origin)
        except CheckpointError as error:
            raise CommandError(str(error)) from None
        try:
            # O_EXCL: an existing key is never replaced (checkpoints signed with it would stop verifying).
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{out} exists; a signing key is never overwritten. Choose another path.") from None
        except OSError as error:
            raise CommandError(f"cannot create {out}: {error}") from None
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(key.private_pem())
        self.stdout.write(key.vkey())
