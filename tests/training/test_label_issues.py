"""Label-error detection: confident learning over real MiniLM embeddings finds flipped labels; reviewers settle them."""

import pytest
from django.core.exceptions import ValidationError

from annotation.models import FinalAnnotation, FinalSource
from governance.models import AuditEvent
from tests.factories import project_make
from tests.training.topics_support import item_by_text, topic_project
from training.models.active import ActiveLearning, ItemEmbedding, LabelIssue, LabelIssueStatus
from training.services.label_issues import (
    label_issue_resolve,
    label_issues_request,
    label_issues_run,
)

pytestmark = pytest.mark.django_db

# Row 2 (sport) labelled cooking, row 15 (cooking) labelled weather, row 30 (weather) labelled sport.
FLIPPED = {2: "cooking", 15: "weather", 30: "sport"}


@pytest.fixture
def flipped_project(manager, annotator):
    return topic_project(manager=manager, annotator=annotator, flipped=FLIPPED)


def _issue_of(project, text):
    return LabelIssue.objects.get(project=project, item=item_by_text(project, text))


def test_finds_the_deliberately_flipped_labels_and_suggests_the_true_topic(flipped_project):
    project, pairs = flipped_project

    found = label_issues_run(project_id=project.pk)

    issues = {issue.item.text: issue for issue in LabelIssue.objects.filter(project=project).select_related("item")}
    for row, wrong in FLIPPED.items():
        text, topic = pairs[row]
        assert text in issues, f"the flipped item {text!r} was not found; found {sorted(issues)}"
        assert (issues[text].given_label, issues[text].suggested_label) == (wrong, topic)
        assert issues[text].status == LabelIssueStatus.OPEN
    # Few false alarms on a clean, separable set; the flipped ones rank first (lowest quality).
    assert found == len(issues) <= len(FLIPPED) + 2
    ranked = [issue.item.text for issue in LabelIssue.objects.filter(project=project).order_by("quality")]
    assert set(ranked[: len(FLIPPED)]) == {pairs[row][0] for row in FLIPPED}


def test_records_the_rate_of_likely_mislabelled_items_and_audits_the_check(flipped_project):
    project, pairs = flipped_project

    found = label_issues_run(project_id=project.pk)

    state = ActiveLearning.objects.get(project=project)
    assert state.label_check_items == len(pairs)
    assert state.label_issue_rate == pytest.approx(found / len(pairs))
    assert state.label_check_at is not None
    event = AuditEvent.objects.get(action="label_issue.check", project_id=project.pk)
    assert event.details == {"checked": len(pairs), "skipped_without_embedding": 0, "found": found, "opened": found}


def test_skips_and_counts_items_whose_embedding_is_not_computed_yet(flipped_project):
    project, pairs = flipped_project
    missing = item_by_text(project, pairs[0][0])
    ItemEmbedding.objects.filter(item=missing).delete()

    label_issues_run(project_id=project.pk)

    assert ActiveLearning.objects.get(project=project).label_check_items == len(pairs) - 1
    assert AuditEvent.objects.get(action="label_issue.check").details["skipped_without_embedding"] == 1


def test_confirming_an_issue_makes_the_suggested_label_the_final_answer(flipped_project, manager):
    project, pairs = flipped_project
    label_issues_run(project_id=project.pk)
    text, topic = pairs[15]
    issue = _issue_of(project, text)

    settled = label_issue_resolve(actor=manager, issue=issue, decision="confirmed")

    assert settled.status == LabelIssueStatus.CONFIRMED and settled.resolved_by == manager
    final = FinalAnnotation.objects.get(item=issue.item)
    assert final.value == {"labels": [topic]}
    assert final.source == FinalSource.REVIEW and final.decided_by == manager
    event = AuditEvent.objects.get(action="label_issue.resolve")
    assert event.details == {
        "item": issue.item_id, "decision": "confirmed", "given": "weather", "suggested": topic, "labels": [topic],
    }


def test_confirming_with_another_label_uses_that_label(flipped_project, manager):
    project, pairs = flipped_project
    label_issues_run(project_id=project.pk)
    issue = _issue_of(project, pairs[2][0])

    label_issue_resolve(actor=manager, issue=issue, decision="confirmed", value="weather")

    assert FinalAnnotation.objects.get(item=issue.item).value == {"labels": ["weather"]}


def test_dismissing_an_issue_keeps_the_label(flipped_project, manager):
    project, pairs = flipped_project
    label_issues_run(project_id=project.pk)
    issue = _issue_of(project, pairs[30][0])
    before = FinalAnnotation.objects.get(item=issue.item).value

    settled = label_issue_resolve(actor=manager, issue=issue, decision="dismissed")

    assert settled.status == LabelIssueStatus.DISMISSED
    assert FinalAnnotation.objects.get(item=issue.item).value == before == {"labels": ["sport"]}
    assert AuditEvent.objects.get(action="label_issue.resolve").details["decision"] == "dismissed"


def test_a_new_check_replaces_open_issues_and_keeps_settled_ones(flipped_project, manager):
    project, pairs = flipped_project
    label_issues_run(project_id=project.pk)
    kept = _issue_of(project, pairs[30][0])
    label_issue_resolve(actor=manager, issue=kept, decision="dismissed")
    open_before = set(LabelIssue.objects.filter(status=LabelIssueStatus.OPEN).values_list("pk", flat=True))

    label_issues_run(project_id=project.pk)

    kept.refresh_from_db()
    assert kept.status == LabelIssueStatus.DISMISSED
    open_after = LabelIssue.objects.filter(project=project, status=LabelIssueStatus.OPEN)
    assert not open_before & set(open_after.values_list("pk", flat=True))
    assert open_after.filter(item__in=[item_by_text(project, pairs[row][0]) for row in (2, 15)]).count() == 2


@pytest.mark.parametrize(
    ("decision", "value", "complaint"),
    [
        ("maybe", None, "decision"),
        ("confirmed", "astronomy", "not a label of this project"),
        ("dismissed", "sport", "Only a confirmed issue"),
    ],
)
def test_refuses_a_verdict_it_cannot_apply(flipped_project, manager, decision, value, complaint):
    project, pairs = flipped_project
    label_issues_run(project_id=project.pk)
    issue = _issue_of(project, pairs[2][0])

    with pytest.raises(ValidationError, match=complaint):
        label_issue_resolve(actor=manager, issue=issue, decision=decision, value=value)

    issue.refresh_from_db()
    assert issue.status == LabelIssueStatus.OPEN


def test_refuses_to_settle_an_issue_twice(flipped_project, manager):
    project, pairs = flipped_project
    label_issues_run(project_id=project.pk)
    issue = _issue_of(project, pairs[2][0])
    label_issue_resolve(actor=manager, issue=issue, decision="dismissed")

    with pytest.raises(ValidationError, match="already settled"):
        label_issue_resolve(actor=manager, issue=issue, decision="confirmed")


def test_says_that_the_check_covers_classification_projects_only(manager):
    spans = project_make(manager=manager, task_type="spans", labels=[{"name": "PER"}], texts=["Ada wrote."])

    with pytest.raises(ValidationError, match="classification projects only"):
        label_issues_request(actor=manager, project=spans)
    assert label_issues_run(project_id=spans.pk) is None


def test_a_check_request_is_audited_and_sends_the_task_after_commit(
    flipped_project, manager, django_capture_on_commit_callbacks, monkeypatch
):
    project, _ = flipped_project
    sent = []
    from training import celery_tasks

    # The message itself; the worker's side is label_issues_run, tested above.
    monkeypatch.setattr(celery_tasks.label_issues_task, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        label_issues_request(actor=manager, project=project)

    assert sent == [project.pk]
    assert AuditEvent.objects.filter(action="label_issue.request", project_id=project.pk).count() == 1


# --- multi-label: one present/absent check per label --------------------------------------------


@pytest.fixture
def multi_project(manager, annotator):
    # Row 3 (sport) also tagged weather; row 16 (cooking) tagged weather instead of cooking.
    return topic_project(
        manager=manager, annotator=annotator, task_type="multi_label",
        flipped={3: ["sport", "weather"], 16: ["weather"]},
    )


def test_finds_a_wrong_extra_label_and_a_missing_label_in_a_multi_label_project(multi_project):
    project, pairs = multi_project

    label_issues_run(project_id=project.pk)

    extra = _issue_of(project, pairs[3][0])
    assert (extra.given_label, extra.suggested_label) == ("weather", "")
    swapped = _issue_of(project, pairs[16][0])
    assert (swapped.given_label, swapped.suggested_label) in {("weather", ""), ("", "cooking")}
    assert ActiveLearning.objects.get(project=project).label_check_items == len(pairs)


def test_confirming_a_multi_label_issue_removes_the_wrong_label(multi_project, manager):
    project, pairs = multi_project
    label_issues_run(project_id=project.pk)
    issue = _issue_of(project, pairs[3][0])

    label_issue_resolve(actor=manager, issue=issue, decision="confirmed")

    assert FinalAnnotation.objects.get(item=issue.item).value == {"labels": ["sport"]}
    with pytest.raises(ValidationError, match="takes no other"):
        other = _issue_of(project, pairs[16][0])
        label_issue_resolve(actor=manager, issue=other, decision="confirmed", value="sport")


def test_confirming_a_missing_label_adds_it_to_the_others(multi_project, manager):
    project, pairs = multi_project
    item = item_by_text(project, pairs[16][0])
    issue = LabelIssue.objects.create(project=project, item=item, given_label="", suggested_label="cooking", quality=0.1)

    label_issue_resolve(actor=manager, issue=issue, decision="confirmed")

    assert FinalAnnotation.objects.get(item=item).value == {"labels": ["weather", "cooking"]}


def test_a_project_with_too_few_labels_to_cross_validate_finds_nothing_and_records_the_check(project, annotator):
    from tests.annotation.views.support import label_first_item
    from training.services.embeddings import embeddings_compute_run

    label_first_item(project, annotator, "positive")
    label_first_item(project, annotator, "negative")
    embeddings_compute_run(project_id=project.pk, notify=False)

    assert label_issues_run(project_id=project.pk) == 0

    state = ActiveLearning.objects.get(project=project)
    assert (state.label_check_items, state.label_issue_rate) == (2, 0.0)
    assert not LabelIssue.objects.filter(project=project).exists()
