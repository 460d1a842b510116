"""Master- and project-key lifecycle: list, promote, disable, enable, destroy, re-wrap (docs/keys.md)."""

import base64

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.commands import command_admin, command_project_get
from governance.crypto import key_generate
from governance.selectors.key_versions import project_key_versions
from governance.selectors.keys import master_key_rows
from governance.services import key_lifecycle, key_versions

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
# Versions of a project's data key (PROJECT_ID VERSION).
_VERSION_ACTIONS = {
    "version-promote": key_versions.project_key_version_promote,
    "version-disable": key_versions.project_key_version_disable,
    "version-enable": key_versions.project_key_version_enable,
    "version-destroy": key_versions.project_key_version_destroy,
}


class Command(BaseCommand):
    help = (
        "Key lifecycle. list: versions, states, fingerprints and how many data keys each wraps. "
        "generate: print a new master key to add to MASTER_KEYS. promote/disable/enable/destroy "
        "FINGERPRINT: change a master key's state. rewrap: re-wrap every data key under the primary "
        "(in a worker, or --inline). project-disable/project-enable PROJECT_ID. Versions of a project's "
        "data key: versions PROJECT_ID (states and what each still encrypts), version-add PROJECT_ID, "
        "version-promote/version-disable/version-enable/version-destroy PROJECT_ID VERSION, reencrypt "
        "PROJECT_ID (re-encrypt its data under the primary version, in a worker or --inline). "
        "Every change is audited."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action",
            choices=[
                "list",
                "generate",
                "rewrap",
                *_MASTER_ACTIONS,
                *_PROJECT_ACTIONS,
                "versions",
                "version-add",
                *_VERSION_ACTIONS,
                "reencrypt",
            ],
        )
        parser.add_argument("target", nargs="?", help="Master key fingerprint, or project id.")
        parser.add_argument("version", nargs="?", help="version-*: the version of the project's data key.")
        parser.add_argument("--user", help="Administrator performing the change (required to change).")
        parser.add_argument("--inline", action="store_true", help="rewrap, reencrypt: run here, not in a worker.")

    def handle(
        self, *args, action: str, target: str | None, version: str | None, user: str | None, inline: bool, **options
    ):
        if action == "list":
            return self._list()
        if action == "versions":
            return self._versions(self._project(action, target))
        if action == "generate":
            self.stdout.write(base64.urlsafe_b64encode(key_generate()).decode())
            return None
        if not user:
            raise CommandError(f"`keys {action}` changes keys: give --user, an administrator.")
        actor = command_admin(user, why="only administrators may change keys")
        if action != "rewrap" and not target:
            raise CommandError(f"`keys {action}` needs a target: a master key fingerprint or a project id.")
        try:
            if action in ("version-add", "reencrypt", *_VERSION_ACTIONS):
                return self._version_change(action, actor, self._project(action, target), version, inline)
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

    def _project(self, action: str, target: str | None):
        if not target or not target.isdigit():
            raise CommandError(f"`keys {action}` needs a project id, not {target!r}.")
        return command_project_get(int(target))

    def _versions(self, project):
        for row in project_key_versions(project):
            others = "".join(f", {n} in {name}" for name, n in row.others.items())
            changed = f"{row.state_changed_at:%Y-%m-%d %H:%M} by {row.state_changed_by or '-'}" if row.state_changed_at else "-"
            self.stdout.write(f"v{row.version}  {row.state:<12}  encrypts {row.values} value(s){others}  changed {changed}")

    def _version_change(self, action: str, actor, project, version: str | None, inline: bool):
        if action == "version-add":
            row = key_versions.project_key_version_add(actor=actor, project=project)
        elif action == "reencrypt":
            if inline:
                job = key_versions.project_key_reencrypt_inline(actor=actor, project=project)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Project {project.pk}: {job.reencrypted} value(s) re-encrypted under v{job.key_version} "
                        f"(job {job.pk}, {job.status})."
                    )
                )
                return
            job = key_versions.project_key_reencrypt_request(actor=actor, project=project)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Re-encryption job {job.pk} ({job.status}) for {job.progress_total} value(s) of project "
                    f"{project.pk}; follow it with `manage.py keys versions {project.pk}` or on the Keys page."
                )
            )
            return
        else:
            if not version or not version.isdigit():
                raise CommandError(f"`keys {action}` needs a project id and a version number, not {version!r}.")
            row = _VERSION_ACTIONS[action](actor=actor, project=project, version=int(version))
        self.stdout.write(self.style.SUCCESS(f"Project {project.pk}: data key v{row.version} {row.state}."))

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
