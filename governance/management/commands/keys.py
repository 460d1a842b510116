"""Master- and project-key lifecycle: list, promote, disable, enable, destroy, re-wrap (docs/keys.md)."""

import base64

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_admin, command_project_get
from governance.crypto import key_generate
from governance.selectors.keys import master_key_rows
from governance.services import key_lifecycle

_MASTER_ACTIONS = {
    "promote": key_lifecycle.master_key_promote,
    "disable": key_lifecycle.master_key_disable,
    "enable": key_lifecycle.master_key_enable,
    "destroy": key_lifecycle.master_key_destroy,
}
_PROJECT_ACTIONS = {
    "project-disable": key_lifecycle.project_key_disable,
    "project-enable": key_lifecycle.project_key_enable,
}


class Command(BaseCommand):
    help = (
        "Key lifecycle. list: versions, states, fingerprints and how many data keys each wraps. "
        "generate: print a new master key to add to MASTER_KEYS. promote/disable/enable/destroy "
        "FINGERPRINT: change a master key's state. rewrap: re-wrap every data key under the primary "
        "(in a worker, or --inline). project-disable/project-enable PROJECT_ID. Every change is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action",
            choices=["list", "generate", "rewrap", *_MASTER_ACTIONS, *_PROJECT_ACTIONS],
        )
        parser.add_argument("target", nargs="?", help="Master key fingerprint, or project id.")
        parser.add_argument("--user", help="Administrator performing the change (required to change).")
        parser.add_argument("--inline", action="store_true", help="rewrap: run here, not in a worker.")

    def handle(self, *args, action: str, target: str | None, user: str | None, inline: bool, **options):
        if action == "list":
            return self._list()
        if action == "generate":
            self.stdout.write(base64.urlsafe_b64encode(key_generate()).decode())
            return None
        if not user:
            raise CommandError(f"`keys {action}` changes keys: give --user, an administrator.")
        actor = command_admin(user, why="only administrators may change keys")
        if action != "rewrap" and not target:
            raise CommandError(f"`keys {action}` needs a target: a master key fingerprint or a project id.")
        try:
            if action == "rewrap":
                return self._rewrap(actor, inline)
            if action in _PROJECT_ACTIONS:
                if not target.isdigit():
                    raise CommandError(f"{target!r} is not a project id.")
                key = _PROJECT_ACTIONS[action](actor=actor, project=command_project_get(int(target)))
                self.stdout.write(self.style.SUCCESS(f"Project {target}: data key {key.state}."))
                return None
            row = _MASTER_ACTIONS[action](actor=actor, fingerprint=target)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Master key v{row.version} {row.fingerprint}: {row.state}."))
        return None

    def _list(self):
        for row in master_key_rows():
            configured = "in MASTER_KEYS" if row.configured else "NOT in MASTER_KEYS"
            self.stdout.write(
                f"v{row.version}  {row.fingerprint}  {row.state:<12}  wraps {row.data_keys} data key(s)  {configured}"
            )

    def _rewrap(self, actor, inline: bool):
        if inline:
            from governance.services.keys import project_keys_rotate

            result = project_keys_rotate(actor=actor)
            self.stdout.write(
                self.style.SUCCESS(f"Master key {result.master_key_id}: {result.rotated} data key(s) re-wrapped.")
            )
            return
        job = key_lifecycle.key_rewrap_request(actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-wrap job {job.pk} ({job.status}) for {job.progress_total} data key(s); "
                "follow it with `manage.py keys list` or on the Keys page."
            )
        )
