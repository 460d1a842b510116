"""Agreement figures computed from constructed annotations, checked against the libraries directly."""


import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from annotation.metrics.agreement import agreement_band
from annotation.models import AnnotationStatus, FinalSource
from annotation.quality.report import quality_report
from annotation.services.gold import item_gold_set
from projects.models import TaskType
from tests.annotation.quality_support import (
    EMOTION_LABELS,
    ENTITY_LABELS,
    answer,
    by_name,
    final_set,
    labelled,
    measure,
    project_with,
    span,
    team,  # noqa: F401  (a fixture)
)
from tests.factories import items_add, project_make

pytestmark = pytest.mark.django_db

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
