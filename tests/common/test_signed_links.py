"""Signed download links open only for the user and object they were made for, and only for a while."""

import time
from types import SimpleNamespace

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied

from common.signed_links import LinkExpired, LinkInvalid, LinkNotYours, link_open, link_sign

SALT = "tests.download"
ada, bob = SimpleNamespace(pk=1), SimpleNamespace(pk=2)


def test_a_link_opens_for_its_user_and_gives_back_what_it_names():
    token = link_sign(salt=SALT, user=ada, v=7, f="csv", s="")
    assert link_open(token, salt=SALT, max_age=60, user=ada, v=7) == {
        "u": 1,
        "v": 7,
        "f": "csv",
        "s": "",
    }


def test_denies_a_link_made_for_another_user():
    token = link_sign(salt=SALT, user=ada, e=3)
    with pytest.raises(LinkNotYours, match="made for another user or file"):
        link_open(token, salt=SALT, max_age=60, user=bob, e=3)


def test_denies_a_link_made_for_another_object():
    token = link_sign(salt=SALT, user=ada, e=3)
    with pytest.raises(LinkNotYours):
        link_open(token, salt=SALT, max_age=60, user=ada, e=4)


def test_denies_an_altered_link_and_a_link_signed_for_another_purpose():
    token = link_sign(salt=SALT, user=ada, e=3)
    with pytest.raises(LinkInvalid, match="not valid"):
        link_open(token[:-2] + "xx", salt=SALT, max_age=60, user=ada, e=3)
    with pytest.raises(LinkInvalid):
        link_open(token, salt="another.download", max_age=60, user=ada, e=3)


def test_denies_a_link_older_than_its_lifetime(monkeypatch):
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - 61)
    token = link_sign(salt=SALT, user=ada, e=3)
    monkeypatch.undo()
    with pytest.raises(LinkExpired, match="expired; ask for a new one"):
        link_open(token, salt=SALT, max_age=60, user=ada, e=3)


def test_a_refused_link_is_a_permission_denied_so_pages_and_the_api_answer_403():
    assert issubclass(LinkExpired, PermissionDenied) and issubclass(LinkNotYours, PermissionDenied)
