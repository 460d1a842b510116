"""One-time set-password links: Django's reset tokens, void once used, when a newer one is issued or after ACCOUNT_LINK_HOURS."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode


class _AccountLinkTokens(PasswordResetTokenGenerator):
    # A salt of its own: a token made for anything else is never a set-password link here.
    key_salt = "governance.account_links"

    def _make_hash_value(self, user, timestamp):
        # Django's value holds the password hash and the last login: setting the password (or issuing
        # a newer link, which replaces it) voids the link. The active flag voids it on deactivation.
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


_tokens = _AccountLinkTokens()


@dataclass(frozen=True)
class AccountLink:
    """What the link carries: the account's id (URL-safe base64) and a token only the server can make."""

    uid: str
    token: str
    expires_at: datetime

    @property
    def query(self) -> str:
        return urlencode({"uid": self.uid, "token": self.token})


def account_link_make(*, user) -> AccountLink:
    """A link for ``user`` as the account stands now; the caller shows it once and never stores it."""
    return AccountLink(
        uid=urlsafe_base64_encode(force_bytes(user.pk)),
        token=_tokens.make_token(user),
        expires_at=timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
    )


def account_link_user(*, uid: str, token: str, users=None):
    """The active account the link was made for, if the link is still good; None otherwise.

    ``users``: the queryset to look the account up in (a service passes one that locks the row).
    """
    try:
        user_id = int(force_str(urlsafe_base64_decode(uid or "")))
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0 < user_id < 2**63:
        return None
    users = users if users is not None else get_user_model().objects.all()
    user = users.filter(pk=user_id, is_active=True).first()
    if user is None or not _tokens.check_token(user, token or ""):
        return None
    return user
