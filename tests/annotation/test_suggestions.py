"""Each annotation records the suggestion it started from and whether it was kept, changed or rejected."""

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Prediction, SuggestionOutcome
from annotation.services.annotations import annotation_submit
from annotation.services.queue import queue_next_item
from governance.models import AuditEvent
from tests.factories import answer_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def suggested(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    prediction = Prediction(project=project, item=item, model_version="head-v3", score=0.91)
    prediction.value = {"labels": ["positive"], "scores": {"positive": 0.91, "negative": 0.05}}
    prediction.save()
    return item, prediction


@pytest.mark.parametrize(
    "labels, rejected, outcome",
    [
        (["positive"], False, SuggestionOutcome.ACCEPTED),
        (["negative"], False, SuggestionOutcome.MODIFIED),
        (["negative"], True, SuggestionOutcome.REJECTED),
    ],
)
def test_the_outcome_of_the_shown_suggestion_is_derived_and_kept(annotator, suggested, labels, rejected, outcome):
    item, prediction = suggested
    annotation = annotation_submit(
        actor=annotator, item=item, value={"labels": labels}, prediction_id=prediction.pk, suggestion_rejected=rejected
    )
    assert (annotation.prediction, annotation.suggestion_outcome) == (prediction, outcome)
    assert AuditEvent.objects.filter(action="annotation.submit").get().details["suggestion"] == outcome


def test_an_annotation_without_a_suggestion_has_no_outcome(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    assert annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]}).suggestion_outcome == ""


def test_a_suggestion_of_another_item_is_refused(project, annotator, suggested):
    item, prediction = suggested
    other = project.items.exclude(pk=item.pk).first()
    with pytest.raises(ValidationError, match="No such prediction"):
        answer_submit(actor=annotator, item=other, value={"labels": ["neutral"]}, prediction_id=prediction.pk)


def test_a_comment_is_stored_encrypted_with_the_annotation(annotator, suggested):
    item, _ = suggested
    annotation = annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]}, comment=" ironic? ")
    annotation.refresh_from_db()
    assert annotation.comment == "ironic?" and b"ironic" not in bytes(annotation.comment_ct)


def test_an_overlong_comment_is_refused_with_the_limit(annotator, suggested):
    item, _ = suggested
    with pytest.raises(ValidationError, match="the limit is 2000"):
        annotation_submit(actor=annotator, item=item, value={"labels": ["neutral"]}, comment="x" * 2001)
