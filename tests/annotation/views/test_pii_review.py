"""The personal-data review page: findings in their sentence, audited reads, single and bulk decisions."""

import pytest
from django.urls import reverse

from annotation.models import PiiFinding, PiiFindingStatus
from annotation.selectors.findings import findings_in_stored_text
from governance.models import AuditEvent
from projects.models import PiiPolicy
from tests.annotation.views.support import HTMX, client_for
from tests.factories import items_add, project_make

pytestmark = pytest.mark.django_db

MAIL_TEXT = "Opening hours are fine. Write to bob@example.com before noon. Thanks a lot."


def _scanned(project, policy: str, texts: list[str]):
    """Items imported through the real scan under ``policy``; their findings, in id order."""
    project.pii_policy = policy
    project.save(update_fields=["pii_policy"])
    items_add(project=project, actor=project.created_by, texts=texts)
    return list(PiiFinding.objects.filter(project=project).order_by("id"))


def _page(client, project, query: str = ""):
    return client.get(reverse("annotation:pii-findings", args=[project.pk]) + query)


def _reads():
    return AuditEvent.objects.filter(action="item.read", details__via="pii.page")


# --- the text shown ---------------------------------------------------------------------------


def test_a_masked_finding_is_shown_in_its_sentence_as_its_tag_and_never_as_the_value(
    project, manager
):
    [finding] = _scanned(project, PiiPolicy.MASK, [MAIL_TEXT])
    response = _page(client_for(manager), project)
    assert response.status_code == 200
    assert (
        'Write to <mark class="text-mark mark-email" title="EMAIL" data-start="9">[EMAIL]</mark> '
        "before noon." in response.text
    )
    assert "bob@example.com" not in response.text
    # Only the finding's sentence, not the whole text.
    assert "Opening hours" not in response.text and "Thanks a lot" not in response.text
    assert f'id="finding-{finding.pk}"' in response.text and "Mask" in response.text


def test_a_kept_finding_is_marked_on_the_value_itself(project, manager):
    _scanned(project, PiiPolicy.KEEP, [MAIL_TEXT])
    response = _page(client_for(manager), project)
    assert (
        '<mark class="text-mark mark-email" title="EMAIL" data-start="9">bob@example.com</mark>'
        in (response.text)
    )


def test_a_pseudonymised_finding_is_marked_on_its_token_and_the_reveal_stays(project, manager):
    [finding] = _scanned(project, PiiPolicy.PSEUDONYMISE, [MAIL_TEXT])
    response = _page(client_for(manager), project)
    assert "bob@example.com" not in response.text
    token = finding.item.text[len("Opening hours are fine. Write to ") :][: len("<EMAIL_>") + 16]
    assert token.startswith("<EMAIL_")
    assert (
        f'data-start="9">{token.replace("<", "&lt;").replace(">", "&gt;")}</mark>' in response.text
    )
    assert (
        reverse("annotation:item-pii-reveal", args=[project.pk, finding.item_id]) in response.text
    )


def test_a_later_finding_is_placed_after_the_tags_that_replaced_earlier_ones(project, manager):
    first, second = _scanned(
        project, PiiPolicy.MASK, ["Mail ann@example.org or bob@example.net now."]
    )
    assert first.item.text == "Mail [EMAIL] or [EMAIL] now."
    response = _page(client_for(manager), project)
    assert (
        'Mail [EMAIL] or <mark class="text-mark mark-email" title="EMAIL" data-start="16">[EMAIL]</mark> now.'
        in (response.text)
    )


def test_findings_are_placed_only_where_their_tag_stands_in_the_stored_text():
    class Finding:
        def __init__(self, pk, start, end, action="mask", entity="EMAIL"):
            self.pk, self.start, self.end, self.action, self.entity = pk, start, end, action, entity

    imported = "Mail ann@example.org or bob@example.net now."
    masked = "Mail [EMAIL] or [EMAIL] now."
    findings = [Finding(2, 24, 39), Finding(1, 5, 20)]
    assert findings_in_stored_text(masked, findings) == {1: (5, 12), 2: (16, 23)}
    # Edited since the import: no tag where the first one should be, so nothing is marked at all.
    assert findings_in_stored_text("Mail nobody now, or [EMAIL].", findings) == {}
    assert findings_in_stored_text(imported, [Finding(1, 5, 20, action="keep")]) == {1: (5, 20)}
    assert findings_in_stored_text("short", [Finding(1, 5, 20, action="keep")]) == {}


def test_a_finding_that_no_longer_fits_its_text_is_listed_without_text(project, manager):
    item = project.items.order_by("id").first()
    finding = PiiFinding.objects.create(
        project=project, item=item, entity="EMAIL", start=0, end=4, score=0.9, action=PiiPolicy.MASK
    )
    response = _page(client_for(manager), project)
    assert f'id="finding-{finding.pk}"' in response.text
    assert "no longer fits the item" in response.text and "<mark" not in response.text


def test_one_read_is_recorded_per_page_naming_every_item_shown(project, manager):
    findings = _scanned(project, PiiPolicy.MASK, [MAIL_TEXT, "Call me at ann@example.org."])
    _page(client_for(manager), project)
    [event] = _reads()
    assert sorted(event.details["items"]) == sorted({f.item_id for f in findings})
    assert event.actor == manager


def test_an_empty_page_records_no_read(project, manager):
    assert _page(client_for(manager), project).status_code == 200
    assert not _reads().exists()


# --- filters and paging -----------------------------------------------------------------------


def _findings(project, count, **fields):
    item = project.items.order_by("id").first()
    defaults = {"entity": "EMAIL", "start": 0, "end": 3, "score": 0.5, "action": PiiPolicy.KEEP}
    return PiiFinding.objects.bulk_create(
        [PiiFinding(project=project, item=item, **{**defaults, **fields}) for _ in range(count)]
    )


def test_the_page_shows_pending_findings_unless_another_status_is_asked(project, manager):
    [pending] = _findings(project, 1)
    [dismissed] = _findings(project, 1, status=PiiFindingStatus.DISMISSED)
    client = client_for(manager)
    assert f'id="finding-{pending.pk}"' in _page(client, project).text
    assert f'id="finding-{dismissed.pk}"' not in _page(client, project).text
    only_dismissed = _page(client, project, "?status=dismissed").text
    assert (
        f'id="finding-{dismissed.pk}"' in only_dismissed
        and f'id="finding-{pending.pk}"' not in only_dismissed
    )
    every = _page(client, project, "?status=").text
    assert f'id="finding-{dismissed.pk}"' in every and f'id="finding-{pending.pk}"' in every


def test_the_kind_filter_keeps_only_that_kind(project, manager):
    [mail] = _findings(project, 1)
    [phone] = _findings(project, 1, entity="PHONE")
    text = _page(client_for(manager), project, "?entity=PHONE").text
    assert f'id="finding-{phone.pk}"' in text and f'id="finding-{mail.pk}"' not in text


def test_the_kind_filter_offers_a_kind_no_longer_detected_when_it_is_asked_for(project, manager):
    [old] = _findings(project, 1, entity="EMAIL_ADDRESS")
    text = _page(client_for(manager), project, "?entity=EMAIL_ADDRESS").text
    assert '<option value="EMAIL_ADDRESS" selected>' in text and f'id="finding-{old.pk}"' in text


def test_a_bad_filter_is_named_and_answers_400(project, manager):
    response = _page(client_for(manager), project, "?status=maybe&after=x")
    assert response.status_code == 400
    assert 'id="pii-filter-errors"' in response.text and "maybe" in response.text
    assert not _reads().exists()


def test_pages_follow_each_other_by_id_and_keep_the_filters(project, manager):
    findings = _findings(project, 51, entity="PHONE")
    client = client_for(manager)
    first = _page(client, project, "?entity=PHONE")
    assert (
        f'id="finding-{findings[49].pk}"' in first.text
        and f'id="finding-{findings[50].pk}"' not in first.text
    )
    next_query = f"?status=pending&amp;entity=PHONE&amp;after={findings[49].pk}"
    assert next_query in first.text and 'id="pii-previous"' not in first.text
    second = _page(client, project, next_query.replace("&amp;", "&"))
    assert f'id="finding-{findings[50].pk}"' in second.text and 'id="pii-next"' not in second.text
    assert f"before={findings[50].pk}" in second.text
    back = _page(client, project, f"?status=pending&entity=PHONE&before={findings[50].pk}")
    assert (
        f'id="finding-{findings[0].pk}"' in back.text
        and f'id="finding-{findings[49].pk}"' in back.text
    )
    assert f'id="finding-{findings[50].pk}"' not in back.text


# --- decisions --------------------------------------------------------------------------------


def test_a_manager_confirms_one_finding_through_htmx_and_gets_its_new_state(project, manager):
    [finding] = _findings(project, 1)
    response = client_for(manager).post(
        reverse("annotation:pii-finding-review", args=[project.pk, finding.pk]),
        {"status": "confirmed", "filters": "status=pending&after=3"},
        **HTMX,
    )
    assert response.status_code == 200
    assert (
        f'id="finding-state-{finding.pk}"' in response.text and "badge-confirmed" in response.text
    )
    assert "<mark" not in response.text  # a decision shows no text again
    # Its buttons still carry the page's filters, for a later decision without JavaScript.
    assert 'name="filters" value="status=pending&amp;after=3"' in response.text
    finding.refresh_from_db()
    assert (finding.status, finding.reviewed_by) == (PiiFindingStatus.CONFIRMED, manager)
    [event] = AuditEvent.objects.filter(action="pii.review")
    assert event.details["findings"] == [finding.pk] and event.details["status"] == "confirmed"
    assert event.target_id == str(finding.pk)


def test_without_htmx_a_decision_returns_to_the_page_it_was_made_on(project, manager):
    [finding] = _findings(project, 1)
    response = client_for(manager).post(
        reverse("annotation:pii-finding-review", args=[project.pk, finding.pk]),
        {"status": "dismissed", "filters": "status=pending&entity=EMAIL&next=//evil.example"},
    )
    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("annotation:pii-findings", args=[project.pk]) + "?status=pending&entity=EMAIL"
    )


def test_a_manager_dismisses_several_findings_in_one_request_with_one_audit_event(project, manager):
    findings = _findings(project, 3)
    response = client_for(manager).post(
        reverse("annotation:pii-findings-review", args=[project.pk]),
        {"finding": [findings[0].pk, findings[2].pk], "status": "dismissed"},
        **HTMX,
    )
    assert response.status_code == 200 and "2 findings dismissed." in response.text
    assert response.text.count('hx-swap-oob="true"') == 2
    statuses = dict(PiiFinding.objects.values_list("pk", "status"))
    assert [statuses[f.pk] for f in findings] == ["dismissed", "pending", "dismissed"]
    [event] = AuditEvent.objects.filter(action="pii.review")
    assert event.details["findings"] == [findings[0].pk, findings[2].pk]
    assert event.details["items"] == [findings[0].item_id] and event.target_id in ("", None)


def test_a_bulk_decision_naming_another_projects_finding_changes_nothing(project, manager):
    mine = _findings(project, 1)[0]
    other = project_make(manager=manager, texts=["Another text."])
    foreign = _findings(other, 1)[0]
    response = client_for(manager).post(
        reverse("annotation:pii-findings-review", args=[project.pk]),
        {"finding": [mine.pk, foreign.pk], "status": "confirmed"},
        **HTMX,
    )
    assert response.status_code == 422
    assert f"This project has no finding with the id {foreign.pk}." in response.text
    assert not PiiFinding.objects.exclude(status="pending").exists()
    assert not AuditEvent.objects.filter(action="pii.review").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "confirmed"}, "Select at least one finding."),
        ({"finding": ["1"], "status": "pending"}, "Select a valid choice."),
        ({"finding": ["one"], "status": "confirmed"}, "Finding ids are whole numbers"),
    ],
)
def test_a_bulk_decision_without_findings_or_decision_is_refused_by_name(
    project, manager, body, message
):
    response = client_for(manager).post(
        reverse("annotation:pii-findings-review", args=[project.pk]), body
    )
    assert response.status_code == 422 and message in response.text


def test_without_htmx_a_bulk_decision_returns_to_the_page(project, manager):
    findings = _findings(project, 2)
    response = client_for(manager).post(
        reverse("annotation:pii-findings-review", args=[project.pk]),
        {"finding": [f.pk for f in findings], "status": "confirmed", "filters": "status="},
    )
    assert response.status_code == 302 and response["Location"].endswith("/pii/?status=")
    assert set(PiiFinding.objects.values_list("status", flat=True)) == {"confirmed"}


# --- who may ----------------------------------------------------------------------------------


def test_allows_a_manager_each_review_endpoint(project, manager):
    [finding] = _findings(project, 1)
    client = client_for(manager)
    assert _page(client, project).status_code == 200
    url = reverse("annotation:pii-findings-review", args=[project.pk])
    assert client.post(url, {"finding": [finding.pk], "status": "confirmed"}).status_code == 302


@pytest.mark.parametrize("role", ["reviewer", "annotator", "ml_engineer"])
def test_denies_other_roles_each_review_endpoint(project, request, role):
    [finding] = _findings(project, 1)
    client = client_for(request.getfixturevalue(role))
    assert _page(client, project).status_code == 403
    single = reverse("annotation:pii-finding-review", args=[project.pk, finding.pk])
    assert client.post(single, {"status": "confirmed"}).status_code == 403
    bulk = reverse("annotation:pii-findings-review", args=[project.pk])
    assert client.post(bulk, {"finding": [finding.pk], "status": "confirmed"}).status_code == 403
    assert PiiFinding.objects.get().status == "pending" and not _reads().exists()


def test_denies_an_outsider_the_page_without_saying_the_project_exists(project, outsider):
    client = client_for(outsider)
    assert _page(client, project).status_code == 404
    bulk = reverse("annotation:pii-findings-review", args=[project.pk])
    assert client.post(bulk, {"finding": ["1"], "status": "confirmed"}).status_code == 404
