"""Creating, finding and revoking API tokens; only a token's SHA-256 digest is ever stored."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.audit import AuditAction, audit_record
from governance.models import ApiToken
from governance.selectors.tokens import api_token_candidates

TOKEN_MARK = "sa_"
# Tokens are recognisable by their first characters: the mark and 8 random hex digits.
PREFIX_LENGTH = len(TOKEN_MARK) + 8
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _token_generate() -> str:
    return f"{TOKEN_MARK}{secrets.token_hex(4)}{secrets.token_urlsafe(32)}"


def _check_owner_or_admin(*, actor, token: ApiToken) -> None:
    if not (actor.is_superuser or actor.pk == token.user_id):
        raise PermissionDenied(_("Only the token's owner or an administrator may change it."))


@transaction.atomic
def api_token_create(
    *, actor, user, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; the plaintext is returned here, never stored or shown again."""
    if not (actor.is_superuser or actor.pk == user.pk):
        raise PermissionDenied(_("Only administrators may create tokens for other users."))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, so you can tell it apart later.")})
    if len(name) > 100:
        raise ValidationError({"name": _("Keep the name to 100 characters or fewer.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    plaintext = _token_generate()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=plaintext[:PREFIX_LENGTH],
        digest=token_digest(plaintext),
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_CREATE,
        target=token,
        details={
            "user": user.get_username(),
            "name": name,
            "prefix": token.prefix,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke ``token`` for good; revoking an already revoked token changes nothing."""
    _check_owner_or_admin(actor=actor, token=token)
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_REVOKE,
        target=token,
        details={"user": token.user.get_username(), "name": token.name, "prefix": token.prefix},
    )
    return token


def api_token_find(*, plaintext: str) -> ApiToken | None:
    """The token whose digest matches ``plaintext``, compared in constant time, or None."""
    if not plaintext.startswith(TOKEN_MARK) or len(plaintext) <= PREFIX_LENGTH:
        return None
    digest = token_digest(plaintext)
    for candidate in api_token_candidates(prefix=plaintext[:PREFIX_LENGTH]):
        if hmac.compare_digest(candidate.digest, digest):
            return candidate
    return None


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that the token was used, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
