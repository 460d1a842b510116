"""Give a user a global role (auditor or admin), or take it away with --revoke; audited."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.access import global_roles_of
from governance.roles import GlobalRole
from governance.services.roles import global_role_set

ACTOR = "manage.py role_grant"


class Command(BaseCommand):
    help = "Give a user a global role (auditor or admin); --revoke takes that role away."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username.")
        parser.add_argument("--role", required=True, choices=GlobalRole.values)
        parser.add_argument("--revoke", action="store_true", help="Take the role away instead.")

    def handle(self, *args, user: str, role: str, revoke: bool, **options):
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"There is no user called '{user}'.")
        held = global_roles_of(user=account)
        if revoke and role not in held:
            self.stdout.write(f"{user} does not hold the {role} role; nothing to do.")
            return
        # A user holds one global role at most; replacing one must be asked for explicitly.
        others = [other for other in held if other != role]
        if not revoke and others:
            raise CommandError(
                f"{user} is already {others[0]}; revoke that first (--role {others[0]} --revoke)."
            )
        try:
            roles = global_role_set(actor=ACTOR, user=account, role=None if revoke else role)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{user} now holds: {', '.join(roles) if roles else 'no global role'}."
            )
        )
