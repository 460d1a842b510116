"""Register a local Hugging Face model folder as a base model that training jobs may start from."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_user
from training.services.registry import base_model_register


class Command(BaseCommand):
    help = (
        "Register a local Hugging Face model folder (config.json, weights, tokenizer) as a base model under --name; "
        "prints its fingerprint. Nothing is downloaded: the folder must already be on this machine and on the workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The name users pick it by.")
        parser.add_argument("--path", required=True, help="The model folder.")
        parser.add_argument("--user", help="Username recorded as registering it (audit trail).")

    def handle(self, *args, name: str, path: str, user: str | None, **options):
        actor = command_user(user) if user else None
        try:
            base = base_model_register(actor=actor or "manage.py base_model_register", name=name, path=path)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Registered base model {base.name} at {base.path}, fingerprint {base.fingerprint}.")
        )
