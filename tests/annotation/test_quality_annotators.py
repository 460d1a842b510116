"""Per-annotator figures and suggestion acceptance, from constructed annotations."""

from datetime import UTC, datetime, timedelta

import pytest

from annotation.models import AnnotationStatus, FinalSource, Prediction, Review, SuggestionOutcome
from annotation.quality.report import quality_report
from annotation.services.annotations import annotation_submit
from annotation.services.gold import item_gold_set
from annotation.services.queue import queue_next_item
from projects.models import TaskType
from tests.annotation.quality_support import (
    ENTITY_LABELS,
    answer,
    by_name,
    final_set,
    labelled,
    project_with,
    span,
    team,  # noqa: F401 (a fixture)
)
from tests.factories import user_make

pytestmark = pytest.mark.django_db

# --- per annotator --------------------------------------------------------------------------


def test_per_annotator_figures_cover_speed_throughput_finals_reviews_and_gold(
    manager, team, reviewer
):
    ann, bob, _ = team
    project = project_with(manager, team, count=6)
    items = list(project.items.order_by("id"))
    nine = datetime(2025, 3, 3, 9, 5, tzinfo=UTC)
    first = answer(items[0], ann, labelled("positive"), lead_time_ms=1000, created_at=nine)
    second = answer(
        items[1],
        ann,
        labelled("negative"),
        lead_time_ms=3000,
        created_at=nine + timedelta(minutes=40),
    )
    answer(
        items[2], ann, labelled("neutral"), lead_time_ms=8000, created_at=nine + timedelta(hours=2)
    )
    answer(items[3], ann, {}, status=AnnotationStatus.SKIPPED, lead_time_ms=0)
    answer(items[0], bob, labelled("negative"), lead_time_ms=0, created_at=nine)
    final_set(items[0], labelled("positive"))
    final_set(items[1], labelled("positive"))
    final_set(
        items[2], labelled("neutral"), source=FinalSource.AGREEMENT
    )  # not a reviewer's decision
    Review.objects.create(project=project, annotation=first, reviewer=reviewer, decision="accepted")
    Review.objects.create(
        project=project, annotation=second, reviewer=reviewer, decision="corrected"
    )
    gold_right, gold_wrong = items[4], items[5]
    item_gold_set(actor=manager, item=gold_right, value=labelled("positive"))
    item_gold_set(actor=manager, item=gold_wrong, value=labelled("negative"))
    answer(gold_right, ann, labelled("positive"), created_at=nine + timedelta(hours=2, minutes=1))
    answer(gold_wrong, ann, labelled("positive"), created_at=nine + timedelta(hours=2, minutes=2))
    answer(gold_right, bob, labelled("positive"), created_at=nine)

    report = quality_report(project=project)
    people = by_name(report)
    ann_figures, bob_figures = people["ann"], people["bob"]
    assert (ann_figures.submitted, ann_figures.skipped) == (5, 1)
    assert ann_figures.lead_time_mean_ms == pytest.approx((1000 + 3000 + 8000 + 1000 + 1000) / 5)
    assert ann_figures.lead_time_median_ms == 1000
    assert bob_figures.lead_time_median_ms == 1000  # its zero (not measured) is left out
    assert ann_figures.active_hours == 2 and ann_figures.per_active_hour == pytest.approx(2.5)
    assert report.hours == [nine.replace(minute=0), nine.replace(hour=11, minute=0)]
    assert ann_figures.hourly == [2, 3] and bob_figures.hourly == [2, 0]
    assert (ann_figures.finals_compared, ann_figures.finals_matched) == (2, 1)
    assert ann_figures.finals_accuracy == pytest.approx(0.5)
    assert (bob_figures.finals_compared, bob_figures.finals_accuracy) == (1, 0.0)
    assert (
        ann_figures.reviews_accepted,
        ann_figures.reviews_corrected,
        ann_figures.reviews_rejected,
    ) == (1, 1, 0)
    assert (ann_figures.gold_answered, ann_figures.gold_correct, ann_figures.gold_accuracy) == (
        2,
        1,
        0.5,
    )
    assert (bob_figures.gold_answered, bob_figures.gold_accuracy) == (1, 1.0)
    assert ann_figures.gold_f1 is None  # only span projects score gold by F1


def test_span_gold_is_scored_by_exact_match_and_by_f1(manager, team):
    ann = team[0]
    project = project_with(manager, team, count=2, task_type=TaskType.SPANS, labels=ENTITY_LABELS)
    first, second = project.items.order_by("id")
    item_gold_set(
        actor=manager, item=first, value={"spans": [span(27, 38, "PER"), span(42, 47, "LOC")]}
    )
    item_gold_set(actor=manager, item=second, value={"spans": [span(27, 38, "PER")]})
    answer(first, ann, {"spans": [span(27, 38, "PER"), span(42, 47, "LOC")]})
    answer(second, ann, {"spans": [span(27, 38, "PER"), span(42, 47, "LOC")]})

    (figures,) = quality_report(project=project).per_annotator
    assert (figures.gold_answered, figures.gold_correct) == (2, 1)
    assert figures.gold_f1 == pytest.approx(2 * 3 / (4 + 3))


# --- suggestions ----------------------------------------------------------------------------


def test_suggestion_acceptance_is_counted_per_model_version(manager, team):
    ann, bob, _ = team
    project = project_with(manager, team, count=5)
    items = list(project.items.order_by("id"))
    old = [
        Prediction.objects.create(
            project=project, item=item, model_version="zs@1", value=labelled("positive"), score=0.8
        )
        for item in items
    ]
    new = [
        Prediction.objects.create(
            project=project, item=item, model_version="ft@2", value=labelled("negative"), score=0.9
        )
        for item in items
    ]
    answer(
        items[0], ann, labelled("positive"), prediction=old[0], outcome=SuggestionOutcome.ACCEPTED
    )
    answer(
        items[1], ann, labelled("negative"), prediction=old[1], outcome=SuggestionOutcome.MODIFIED
    )
    answer(
        items[2], ann, labelled("neutral"), prediction=new[2], outcome=SuggestionOutcome.REJECTED
    )
    answer(
        items[0], bob, labelled("negative"), prediction=new[0], outcome=SuggestionOutcome.ACCEPTED
    )
    answer(
        items[1], bob, labelled("negative"), prediction=new[1], outcome=SuggestionOutcome.ACCEPTED
    )
    answer(items[3], bob, labelled("neutral"))  # no suggestion shown

    versions = {v.model_version: v for v in quality_report(project=project).model_versions}
    assert set(versions) == {"zs@1", "ft@2"}
    assert (versions["zs@1"].accepted, versions["zs@1"].modified, versions["zs@1"].rejected) == (
        1,
        1,
        0,
    )
    assert versions["zs@1"].accepted_share == pytest.approx(0.5)
    assert (versions["ft@2"].shown, versions["ft@2"].accepted_share) == (3, pytest.approx(2 / 3))


def test_submissions_through_the_queue_record_the_outcome_the_report_counts(project, annotator):
    item = queue_next_item(actor=annotator, project=project)
    prediction = Prediction.objects.create(
        project=project, item=item, model_version="zs@1", value=labelled("positive"), score=0.7
    )
    annotation_submit(
        actor=annotator,
        item=item,
        value=labelled("positive"),
        lead_time_ms=700,
        prediction_id=prediction.pk,
    )

    report = quality_report(project=project)
    (version,) = report.model_versions
    assert (version.model_version, version.accepted, version.shown) == ("zs@1", 1, 1)
    assert by_name(report)["annotator"].acceptance_rate == 1.0


def test_flags_an_annotator_who_accepts_nearly_every_suggestion_far_faster_than_the_median(
    manager, team
):
    stamper, careful, hesitant = team
    unaided = user_make("dee")
    project = project_with(manager, team, count=25)
    for index, item in enumerate(project.items.order_by("id")):
        prediction = Prediction.objects.create(
            project=project, item=item, model_version="zs@1", value=labelled("positive"), score=0.9
        )
        shown = {"prediction": prediction, "outcome": SuggestionOutcome.ACCEPTED}
        answer(item, stamper, labelled("positive"), lead_time_ms=400, **shown)
        answer(item, careful, labelled("positive"), lead_time_ms=5000, **shown)
        # Fast too, but changes one suggestion in five: 80 % accepted is no rubber stamp.
        changed = (
            {"prediction": prediction, "outcome": SuggestionOutcome.MODIFIED}
            if index % 5 == 0
            else shown
        )
        answer(item, hesitant, labelled("positive"), lead_time_ms=400, **changed)
        answer(item, unaided, labelled("positive"), lead_time_ms=6000)

    report = quality_report(project=project)
    people = by_name(report)
    assert report.lead_time_median_ms == pytest.approx(
        2700
    )  # half the answers take 400 ms, half 5-6 s
    assert people["ann"].acceptance_rate == 1.0 and people["ann"].rubber_stamping is True
    assert people["bob"].acceptance_rate == 1.0 and people["bob"].rubber_stamping is False
    assert (
        people["cy"].acceptance_rate == pytest.approx(0.8) and people["cy"].rubber_stamping is False
    )
    assert people["dee"].suggestions_shown == 0 and people["dee"].rubber_stamping is False


def test_too_few_suggestions_never_raise_the_rubber_stamping_flag(manager, team):
    fast, slow, _ = team
    project = project_with(manager, team, count=3)
    for item in project.items.all():
        prediction = Prediction.objects.create(
            project=project, item=item, model_version="zs@1", value=labelled("positive"), score=0.9
        )
        answer(
            item,
            fast,
            labelled("positive"),
            prediction=prediction,
            outcome=SuggestionOutcome.ACCEPTED,
            lead_time_ms=10,
        )
        answer(item, slow, labelled("positive"), lead_time_ms=90_000)
    assert by_name(quality_report(project=project))["ann"].rubber_stamping is False
