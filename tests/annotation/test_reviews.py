"""Review and adjudication: the reviewer's stream, resolving into a final answer, rejecting back."""

import pytest
from django.core.exceptions import ValidationError

from annotation.models import AnnotationStatus, FinalAnnotation, FinalSource, Review, ReviewDecision
from annotation.services.annotations import annotation_submit
from annotation.services.projects import project_update
from annotation.services.queue import queue_next_item
from annotation.services.reviews import review_next_item, review_reject, review_resolve
from governance.models import AuditEvent
from governance.roles import ProjectRole
from governance.services.membership import membership_set
from projects.models import ReviewPolicy
from tests.factories import user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(project, manager, annotator, second_annotator):
    """An item two annotators labelled differently, with overlap 2."""
    project_update(actor=manager, project=project, overlap=2, gold_rate=0.0)
    item = queue_next_item(actor=annotator, project=project)
    assert queue_next_item(actor=second_annotator, project=project).pk == item.pk
    first = annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    second = annotation_submit(actor=second_annotator, item=item, value={"labels": ["negative"]})
    return item, first, second


def test_a_disputed_item_reaches_the_reviewer_stream(project, reviewer, disputed):
    item, *_ = disputed
    assert review_next_item(actor=reviewer, project=project).pk == item.pk


def test_two_reviewers_never_hold_the_same_item(project, reviewer, manager, disputed):
    held = review_next_item(actor=reviewer, project=project)
    assert held is not None
    assert review_next_item(actor=manager, project=project) is None


def test_resolving_makes_the_final_answer_and_marks_each_annotation_accepted_or_corrected(project, reviewer, disputed):
    item, first, second = disputed
    review_next_item(actor=reviewer, project=project)
    final = review_resolve(actor=reviewer, item=item, value={"labels": ["positive"]}, comment="sarcasm is positive here")
    assert (final.value, final.source, final.unanimous, final.decided_by) == (
        {"labels": ["positive"]}, FinalSource.REVIEW, False, reviewer
    )
    assert Review.objects.get(annotation=first).decision == ReviewDecision.ACCEPTED
    assert Review.objects.get(annotation=second).decision == ReviewDecision.CORRECTED
    assert Review.objects.get(annotation=second).comment == "sarcasm is positive here"
    assert review_next_item(actor=reviewer, project=project) is None
    event = AuditEvent.objects.filter(action="review.resolve").get()
    assert event.details["accepted"] == 1 and event.details["corrected"] == 1


def test_a_reviewer_may_correct_to_an_answer_nobody_gave(project, reviewer, disputed):
    item, first, second = disputed
    review_resolve(actor=reviewer, item=item, value={"labels": ["neutral"]})
    assert set(Review.objects.values_list("decision", flat=True)) == {ReviewDecision.CORRECTED}


def test_annotators_cannot_change_an_answer_once_a_reviewer_decided(project, reviewer, annotator, disputed):
    item, *_ = disputed
    review_resolve(actor=reviewer, item=item, value={"labels": ["positive"]})
    with pytest.raises(ValidationError, match="already decided"):
        annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]})


def test_rejecting_needs_a_comment(project, reviewer, disputed):
    item, *_ = disputed
    with pytest.raises(ValidationError, match="Say why"):
        review_reject(actor=reviewer, item=item, comment="  ")


def test_a_rejected_annotation_returns_to_its_annotator_with_the_comment(project, reviewer, annotator, disputed):
    item, first, second = disputed
    review_reject(actor=reviewer, item=item, comment="Read the guidelines on sarcasm.", annotation_ids=[first.pk])
    first.refresh_from_db()
    item.refresh_from_db()
    assert first.status == AnnotationStatus.REJECTED
    assert (item.annotation_count, item.is_done) == (1, False)
    assert first.review.comment == "Read the guidelines on sarcasm."
    assert queue_next_item(actor=annotator, project=project).pk == item.pk
    annotation_submit(actor=annotator, item=item, value={"labels": ["negative"]})
    item.refresh_from_db()
    assert item.is_done and FinalAnnotation.objects.get(item=item).source == FinalSource.AGREEMENT


def test_rejecting_an_annotation_of_another_item_is_refused(project, reviewer, disputed, manager):
    item, first, second = disputed
    with pytest.raises(ValidationError, match="not submitted annotations of this item"):
        review_reject(actor=reviewer, item=item, comment="no", annotation_ids=[first.pk + 1000])


def test_under_the_review_all_policy_agreeing_items_also_wait_for_a_reviewer(project, manager, reviewer, annotator):
    project_update(actor=manager, project=project, review_policy=ReviewPolicy.ALL, gold_rate=0.0)
    item = queue_next_item(actor=annotator, project=project)
    annotation_submit(actor=annotator, item=item, value={"labels": ["positive"]})
    assert not FinalAnnotation.objects.filter(item=item).exists()
    assert review_next_item(actor=reviewer, project=project).pk == item.pk


def test_reviewers_are_not_given_items_they_labelled_themselves(project, manager, reviewer):
    project_update(actor=manager, project=project, review_policy=ReviewPolicy.ALL, gold_rate=0.0)
    item = queue_next_item(actor=reviewer, project=project)
    annotation_submit(actor=reviewer, item=item, value={"labels": ["positive"]})
    other_reviewer = user_make("second_reviewer")
    membership_set(actor=manager, project=project, user=other_reviewer, role=ProjectRole.REVIEWER)
    assert review_next_item(actor=reviewer, project=project) is None
    assert review_next_item(actor=other_reviewer, project=project).pk == item.pk
