"""Short-lived signed download links: a token naming the user it was made for and what it opens."""

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext


class LinkRefused(PermissionDenied):
    """A download link that cannot be used (403); the message says why and what to do."""


class LinkExpired(LinkRefused):
    def __init__(self):
        super().__init__(gettext("This download link has expired; ask for a new one."))


class LinkInvalid(LinkRefused):
    def __init__(self):
        super().__init__(gettext("This download link is not valid."))


class LinkNotYours(LinkRefused):
    def __init__(self):
        super().__init__(gettext("This download link was made for another user or file."))


def link_sign(*, salt: str, user, **names) -> str:
    """A token naming ``user`` and ``names`` (short keys, JSON values), timestamped now."""
    return signing.TimestampSigner(salt=salt).sign_object({"u": user.pk, **names})


def link_open(signature: str, *, salt: str, max_age: int, user, **expected) -> dict:
    """The names a token carries, if it is genuine, at most ``max_age`` seconds old and made for
    ``user`` and every ``expected`` name; otherwise LinkExpired, LinkInvalid or LinkNotYours.

    A valid link proves who it was made for, not that they may still download: callers check
    the user's access as well.
    """
    try:
        link = signing.TimestampSigner(salt=salt).unsign_object(signature, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkExpired() from None
    except signing.BadSignature:
        raise LinkInvalid() from None
    if link.get("u") != user.pk or any(link.get(key) != value for key, value in expected.items()):
        raise LinkNotYours()
    return link
