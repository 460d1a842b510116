"""Quality figures computed from constructed annotations, checked against the libraries directly."""

from datetime import UTC, datetime, timedelta

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from annotation.metrics.agreement import agreement_band
from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Prediction,
    Review,
    SuggestionOutcome,
    TaskType,
)
from annotation.quality import quality_report
from annotation.services.annotations import annotation_submit
from annotation.services.gold import item_gold_set
from annotation.services.queue import queue_next_item
from governance.roles import ProjectRole
from tests.factories import items_add, project_make, user_make

pytestmark = pytest.mark.django_db

ENTITY_LABELS = [{"name": "PER"}, {"name": "LOC"}, {"name": "ORG"}]
EMOTION_LABELS = [{"name": "joy"}, {"name": "anger"}, {"name": "fear"}]


def texts(count: int, prefix: str = "Sentence") -> list[str]:
    return [f"{prefix} number {index} is about Alice Smith in Paris." for index in range(count)]


def answer(
    item,
    user,
    value,
    *,
    status=AnnotationStatus.SUBMITTED,
    lead_time_ms=1000,
    prediction=None,
    outcome="",
    created_at=None,
) -> Annotation:
    """An annotation written directly, for figures built from exactly known data."""
    annotation = Annotation(
        project=item.project,
        item=item,
        annotator=user,
        status=status,
        lead_time_ms=lead_time_ms,
        prediction=prediction,
        suggestion_outcome=outcome,
    )
    annotation.value = value
    annotation.save()
    if created_at is not None:
        Annotation.objects.filter(pk=annotation.pk).update(created_at=created_at)
    return annotation


def final_set(item, value, *, source=FinalSource.REVIEW) -> FinalAnnotation:
    final = FinalAnnotation(project=item.project, item=item, source=source)
    final.value = value
    final.save()
    return final


def labelled(name: str) -> dict:
    return {"labels": [name]}


@pytest.fixture
def team(manager):
    return [user_make(name) for name in ("ann", "bob", "cy")]


def project_with(manager, team, *, count=10, task_type=TaskType.SINGLE_LABEL, labels=None):
    return project_make(
        manager=manager,
        task_type=task_type,
        labels=labels,
        texts=texts(count),
        members={user: ProjectRole.ANNOTATOR for user in team},
    )


def by_name(report):
    return {who.username: who for who in report.per_annotator}


def measure(report, key):
    return next(m for m in report.measures if m.key == key).value


# --- no data --------------------------------------------------------------------------------


@pytest.mark.parametrize("task_type", [TaskType.SINGLE_LABEL, TaskType.MULTI_LABEL, TaskType.SPANS])
def test_an_empty_project_reports_not_enough_data_rather_than_failing(manager, task_type):
    labels = ENTITY_LABELS if task_type == TaskType.SPANS else None
    project = project_make(manager=manager, task_type=task_type, labels=labels)
    report = quality_report(project=project)
    assert all(m.value is None and m.band is None for m in report.measures)
    assert report.pairs == [] and report.per_annotator == [] and report.model_versions == []
    assert report.items_compared == 0 and report.submitted == 0 and report.hours == []
    assert all(
        label.annotated == 0 and label.final == 0 and label.agreement is None
        for label in report.labels
    )
    assert report.lead_time_median_ms is None


def test_a_single_annotator_gives_counts_but_no_agreement(manager, team):
    project = project_with(manager, team, count=3)
    for item in project.items.all():
        answer(item, team[0], labelled("positive"))
    report = quality_report(project=project)
    assert report.items_compared == 0 and report.pairs == []
    assert all(m.value is None for m in report.measures)
    (ann,) = report.per_annotator
    assert ann.submitted == 3 and ann.agreement_with_others is None


# --- single label ---------------------------------------------------------------------------


def test_single_label_agreement_matches_scikit_learn_statsmodels_and_krippendorff(manager, team):
    project = project_with(manager, team, count=10)
    given = {
        "ann": [
            "positive",
            "positive",
            "negative",
            "negative",
            "neutral",
            "positive",
            "negative",
            "neutral",
            "positive",
            "positive",
        ],
        "bob": [
            "positive",
            "negative",
            "negative",
            "negative",
            "neutral",
            "positive",
            "positive",
            "neutral",
            "positive",
            "neutral",
        ],
        "cy": [
            "positive",
            "positive",
            "negative",
            "neutral",
            "neutral",
            "positive",
            "negative",
            "neutral",
            "negative",
            "positive",
        ],
    }
    for index, item in enumerate(project.items.order_by("id")):
        for user in team:
            answer(item, user, labelled(given[user.username][index]))

    report = quality_report(project=project)

    assert (
        report.pair_measure == "cohen_kappa"
        and report.items_compared == 10
        and report.submitted == 30
    )
    assert report.annotators == ["ann", "bob", "cy"]
    pair = report.pair("bob", "ann")
    assert pair.items == 10
    assert pair.score == pytest.approx(cohen_kappa_score(given["ann"], given["bob"]))
    assert pair.observed == pytest.approx(0.7)
    categories = ["positive", "negative", "neutral"]
    codes = np.array(
        [[categories.index(label) for label in given[name]] for name in ("ann", "bob", "cy")]
    )
    expected_alpha = krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal")
    assert measure(report, "krippendorff_alpha") == pytest.approx(expected_alpha)
    table = np.array([[list(column).count(c) for c in range(3)] for column in codes.T])
    assert measure(report, "fleiss_kappa") == pytest.approx(statsmodels_fleiss(table))
    kappas = [
        cohen_kappa_score(given[a], given[b])
        for a, b in (("ann", "bob"), ("ann", "cy"), ("bob", "cy"))
    ]
    assert measure(report, "cohen_kappa_mean") == pytest.approx(sum(kappas) / 3)
    people = by_name(report)
    assert people["ann"].agreement_with_others == pytest.approx((kappas[0] + kappas[1]) / 2)
    assert report.headline.key == "krippendorff_alpha"
    assert report.headline.band == agreement_band(expected_alpha)


def test_per_label_agreement_and_distribution_count_each_label(manager, team):
    ann, bob, _ = team
    project = project_with(manager, team, count=4)
    items = list(project.items.order_by("id"))
    pairs = [
        ("positive", "positive"),
        ("negative", "negative"),
        ("neutral", "negative"),
        ("neutral", "neutral"),
    ]
    for item, (first, second) in zip(items, pairs):
        answer(item, ann, labelled(first))
        answer(item, bob, labelled(second))
    final_set(items[0], labelled("positive"), source=FinalSource.AGREEMENT)
    final_set(items[2], labelled("negative"))

    report = quality_report(project=project)
    labels = {label.name: label for label in report.labels}
    assert (
        labels["positive"].annotated,
        labels["negative"].annotated,
        labels["neutral"].annotated,
    ) == (2, 3, 3)
    assert (labels["positive"].final, labels["negative"].final, labels["neutral"].final) == (
        1,
        1,
        0,
    )
    assert labels["positive"].agreement == pytest.approx(1.0)  # never confused with another label
    present = np.array([[1, 0, 0, 0], [1, 0, 0, 0]])
    assert labels["positive"].agreement == pytest.approx(
        krippendorff.alpha(reliability_data=present, level_of_measurement="nominal")
    )
    assert labels["neutral"].agreement < 1.0
    assert labels["positive"].color == "#2ca02c"


def test_gold_items_skips_and_sent_back_answers_stay_out_of_agreement(manager, team):
    ann, bob, _ = team
    project = project_with(manager, team, count=6)
    items = list(project.items.order_by("id"))
    for item, label in zip(items[:3], ["positive", "negative", "neutral"]):
        answer(item, ann, labelled(label))
        answer(item, bob, labelled(label))
    # Each of these would break the perfect agreement above if it were counted.
    item_gold_set(actor=manager, item=items[3], value=labelled("positive"))
    answer(items[3], ann, labelled("positive"))
    answer(items[3], bob, labelled("negative"))
    answer(items[4], ann, labelled("positive"))
    answer(items[4], bob, {}, status=AnnotationStatus.SKIPPED)
    answer(items[5], ann, labelled("positive"))
    answer(items[5], bob, labelled("negative"), status=AnnotationStatus.REJECTED)

    report = quality_report(project=project)
    assert report.items_compared == 3
    assert report.pair("ann", "bob").score == pytest.approx(1.0)
    assert measure(report, "krippendorff_alpha") == pytest.approx(1.0)
    people = by_name(report)
    assert (people["ann"].submitted, people["ann"].skipped, people["ann"].sent_back) == (6, 0, 0)
    assert (people["bob"].submitted, people["bob"].skipped, people["bob"].sent_back) == (4, 1, 1)


# --- multi-label and spans ------------------------------------------------------------------


def test_multi_label_agreement_is_alpha_per_label_and_pooled_kappa_per_pair(manager, team):
    ann, bob, _ = team
    project = project_with(
        manager, team, count=4, task_type=TaskType.MULTI_LABEL, labels=EMOTION_LABELS
    )
    items = list(project.items.order_by("id"))
    given = [
        ({"joy"}, {"joy"}),
        ({"anger"}, {"anger", "joy"}),
        (set(), set()),
        ({"joy", "anger"}, {"joy", "anger"}),
    ]
    for item, (first, second) in zip(items, given):
        answer(item, ann, {"labels": sorted(first)})
        answer(item, bob, {"labels": sorted(second)})

    report = quality_report(project=project)
    assert report.pair_measure == "pooled_kappa"
    labels = {label.name: label for label in report.labels}
    joy = np.array([[1, 0, 0, 1], [1, 1, 0, 1]])
    assert labels["joy"].agreement == pytest.approx(
        krippendorff.alpha(reliability_data=joy, level_of_measurement="nominal")
    )
    assert labels["anger"].agreement == pytest.approx(1.0)
    assert labels["fear"].agreement is None  # nobody used it: one category only
    assert measure(report, "label_alpha_mean") == pytest.approx((labels["joy"].agreement + 1.0) / 2)
    ann_decisions = [name in first for first, _ in given for name in ("joy", "anger", "fear")]
    bob_decisions = [name in second for _, second in given for name in ("joy", "anger", "fear")]
    pair = report.pair("ann", "bob")
    assert pair.score == pytest.approx(cohen_kappa_score(ann_decisions, bob_decisions))
    assert pair.observed == pytest.approx(0.75)
    assert (labels["joy"].annotated, labels["anger"].annotated) == (5, 4)


def span(start, end, label):
    return {"start": start, "end": end, "label": label}


def test_span_agreement_gives_exact_and_partial_f1_and_a_chance_corrected_alpha(manager, team):
    ann, bob, _ = team
    project = project_with(manager, team, count=3, task_type=TaskType.SPANS, labels=ENTITY_LABELS)
    items = list(project.items.order_by("id"))
    # "Sentence number 0 is about Alice Smith in Paris.": Alice Smith is 27..38, Paris 42..47.
    answer(items[0], ann, {"spans": [span(27, 38, "PER"), span(42, 47, "LOC")]})
    answer(items[0], bob, {"spans": [span(27, 38, "PER"), span(42, 47, "LOC")]})
    answer(items[1], ann, {"spans": [span(27, 38, "PER"), span(42, 47, "LOC")]})
    answer(items[1], bob, {"spans": [span(27, 32, "PER"), span(42, 47, "ORG")]})
    answer(items[2], ann, {"spans": [span(27, 38, "PER")]})
    answer(items[2], bob, {"spans": []})

    report = quality_report(project=project)
    assert report.pair_measure == "exact_f1"
    pair = report.pair("ann", "bob")
    assert pair.items == 3
    assert pair.score == pytest.approx(2 * 2 / (5 + 4))  # two exact matches among 5 and 4 spans
    assert pair.partial_f1 == pytest.approx(2 * 3 / (5 + 4))  # Alice overlaps Alice Smith
    # Pieces cut at every boundary; each marked piece is a unit (see agreement.span_alpha).
    pieces = [
        ("PER", "PER"),
        ("LOC", "LOC"),  # item 0
        ("PER", "PER"),
        ("PER", ""),
        ("LOC", "ORG"),  # item 1: Alice | Smith | Paris
        ("PER", ""),  # item 2
    ]
    categories = ["", "LOC", "ORG", "PER"]
    data = np.array([[categories.index(piece[side]) for piece in pieces] for side in (0, 1)])
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert measure(report, "span_alpha") == pytest.approx(expected)
    assert measure(report, "exact_f1_mean") == pytest.approx(4 / 9)
    assert next(m for m in report.measures if m.key == "exact_f1_mean").band is None
    labels = {label.name: label for label in report.labels}
    assert (labels["PER"].annotated, labels["LOC"].annotated, labels["ORG"].annotated) == (5, 3, 1)


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


# --- readings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (-0.1, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.35, "fair"),
        (0.41, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost_perfect"),
        (1.0, "almost_perfect"),
        (None, None),
    ],
)
def test_agreement_values_read_as_landis_and_koch_bands(value, band):
    assert agreement_band(value) == band


def test_items_added_later_do_not_disturb_the_report(manager, team):
    project = project_with(manager, team, count=2)
    items_add(project=project, actor=manager, texts=["A late arrival with no answers yet."])
    for item in project.items.order_by("id")[:2]:
        answer(item, team[0], labelled("positive"))
        answer(item, team[1], labelled("positive"))
    report = quality_report(project=project)
    assert report.items_compared == 2
    assert report.pair("ann", "bob").observed == 1.0 and report.pair("ann", "bob").score is None
