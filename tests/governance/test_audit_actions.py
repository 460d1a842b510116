"""The registry of audit actions: audit_record takes only its members, and renamed actions keep their history."""

import ast
import re
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from governance import audit
from governance.audit import (
    RENAMED_ACTIONS,
    AuditAction,
    audit_chain_verify,
    audit_record,
    event_hash,
)
from governance.models import AuditEvent
from governance.selectors.audit import AuditFilters, audit_events_filter
from tests.annotation.views.support import client_for

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("common", "projects", "annotation", "governance", "training", "config")


def _product_trees() -> list[tuple[Path, ast.Module]]:
    paths = (
        path
        for package in PRODUCT_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )
    return [(path, ast.parse(path.read_text(), filename=str(path))) for path in sorted(paths)]


def _strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _is_audit_record(call: ast.Call) -> bool:
    return getattr(call.func, "id", getattr(call.func, "attr", None)) == "audit_record"


def test_names_every_action_entity_dot_verb_in_lower_case_with_a_label():
    for action in AuditAction:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", action.value), (
            f"{action.value!r}: name it <entity>.<verb>"
        )
        assert str(action.label) and str(action.label).lower() != action.value


def test_old_names_are_not_registered_and_each_leads_to_a_member():
    assert not set(RENAMED_ACTIONS) & set(AuditAction.values)
    assert all(isinstance(new, AuditAction) for new in RENAMED_ACTIONS.values())


@pytest.mark.django_db
def test_refuses_an_action_missing_from_the_registry_and_says_where_to_add_it(manager):
    refusal = r"'item\.reed'.*add it to AuditAction in governance/audit\.py"
    with pytest.raises(ValueError, match=refusal), transaction.atomic():
        audit_record(actor=manager, action="item.reed")
    assert not AuditEvent.objects.filter(action="item.reed").exists()


@pytest.mark.django_db
def test_refuses_an_old_name_and_names_the_member_to_pass_instead(manager):
    refusal = r"'annotations\.export' was renamed: pass AuditAction\.ANNOTATION_EXPORT"
    with pytest.raises(ValueError, match=refusal), transaction.atomic():
        audit_record(actor=manager, action="annotations.export")


@pytest.mark.django_db
def test_stores_a_member_as_its_plain_name_and_the_chain_verifies(manager):
    with transaction.atomic():
        event = audit_record(actor=manager, action=AuditAction.ITEM_READ)
    stored = AuditEvent.objects.get(seq=event.seq)
    assert type(stored.action) is str and stored.action == "item.read" == event.action
    assert stored.hash == event_hash(stored) and audit_chain_verify().ok


def test_every_audit_record_call_in_the_product_passes_a_registry_member_never_a_string():
    strings = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {_strings(keyword.value)}"
        for path, tree in _product_trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _is_audit_record(node)
        for keyword in node.keywords
        if keyword.arg == "action" and _strings(keyword.value)
    ]
    assert not strings, "Pass AuditAction members to audit_record, not strings:\n" + "\n".join(
        strings
    )


def test_every_action_the_product_names_is_registered_and_every_registered_one_is_recorded():
    named = {
        node.attr: f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _product_trees()
        if path != ROOT / "governance" / "audit.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "AuditAction"
        if node.attr.isupper()  # a member, not .choices or .values
    }
    unknown = sorted(
        f"{where}: AuditAction.{name}"
        for name, where in named.items()
        if name not in AuditAction.names
    )
    assert not unknown, "Add these to AuditAction in governance/audit.py:\n" + "\n".join(unknown)
    unused = sorted(set(AuditAction.names) - set(named))
    assert not unused, f"Registered but never recorded; remove them from AuditAction: {unused}"


def test_no_product_code_spells_an_action_name_as_a_string():
    names = set(AuditAction.values) | set(RENAMED_ACTIONS)
    spelled = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for path, tree in _product_trees()
        if path != ROOT / "governance" / "audit.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in names
    ]
    assert not spelled, "Use the AuditAction member instead:\n" + "\n".join(spelled)


# --- events stored before a rename ---------------------------------------------------------------


def _stored_by_an_older_release(action: str) -> AuditEvent:
    """Append an event the way releases before the rename did: the same chain code, the old name."""
    with transaction.atomic():
        seq, prev_hash = audit._chain_head()
        event = AuditEvent(
            seq=seq + 1,
            created_at=timezone.now(),
            actor_name="older-release",
            action=action,
            details={},
            prev_hash=prev_hash,
            hash="",
        )
        event.hash = event_hash(event)
        audit._event_insert(event)
    return event


@pytest.fixture
def history(manager):
    """One event under each old name, then the same actions recorded under their new names."""
    old = {name: _stored_by_an_older_release(name) for name in RENAMED_ACTIONS}
    with transaction.atomic():
        new = {
            name: audit_record(actor=manager, action=member)
            for name, member in RENAMED_ACTIONS.items()
        }
    return old, new


def _found(action: str) -> set[str]:
    return set(
        audit_events_filter(filters=AuditFilters(action=action)).values_list("action", flat=True)
    )


@pytest.mark.django_db
def test_events_stored_under_old_names_still_verify(history):
    old, _new = history
    assert {
        event.action for event in AuditEvent.objects.filter(seq__in=[e.seq for e in old.values()])
    } == set(RENAMED_ACTIONS)
    report = audit_chain_verify()
    assert report.ok and report.checked == AuditEvent.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("old_name", sorted(RENAMED_ACTIONS))
def test_filtering_by_the_new_name_finds_events_stored_under_the_old_one(history, old_name):
    new_name = RENAMED_ACTIONS[old_name].value
    assert {old_name, new_name} <= _found(new_name)
    # ...and the other way round: an auditor used to the old name still finds the new events.
    assert {old_name, new_name} <= _found(old_name)


@pytest.mark.django_db
def test_filtering_by_an_entity_prefix_finds_old_names_of_its_actions_too(history):
    assert _found("import.") == {
        "import.request",
        "import.reap",
        "items.import.request",
        "items.import.stale",
    }
    assert _found("annotation.") == {"annotation.export", "annotations.export"}
    # A prefix that only an old name starts with finds what those actions are called now.
    assert _found("items.") == {
        "items.import",
        "items.import.request",
        "items.import.stale",
        "item.import",
        "import.request",
        "import.reap",
    }


@pytest.mark.django_db
def test_the_audit_page_and_its_export_find_old_events_by_the_new_name(history, auditor):
    client = client_for(auditor)
    page = client.get(reverse("governance:audit-events"), {"action": "label_issue.check"})
    assert {event.action for event in page.context["page"].events} == {
        "label_issue.check",
        "label_issues.check",
    }
    export = client.get(reverse("governance:audit-export"), {"action": "label_issue.check"})
    rows = b"".join(export.streaming_content).decode().splitlines()[1:]
    assert sorted(row.split(",")[3] for row in rows) == ["label_issue.check", "label_issues.check"]


@pytest.mark.django_db
def test_the_audit_page_suggests_every_action_by_name_with_its_label(auditor):
    page = client_for(auditor).get(reverse("governance:audit-events")).content.decode()
    assert 'list="audit-actions"' in page
    for action in AuditAction:
        assert f'<option value="{action.value}">{escape(action.label)}</option>' in page
