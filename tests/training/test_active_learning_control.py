import numpy as np
import pytest

from annotation.models import Item
from tests.training.active_learning_support import (
    NEGATIVE,
    POSITIVE,
    al_on,
    al_project,
    label,
    refresh,
)
from training.ml.active.control import control_mask
from training.ml.active.head import accuracy, head_fit
from training.models.active import LearningCurvePoint
from training.selectors.active import refresh_error, stopping_hint
from training.services.active_ranking import control_salt
from training.services.embeddings import embeddings_matrix

pytestmark = pytest.mark.django_db

NEUTRAL = [
    "The meeting is scheduled for Tuesday at ten.",
    "The library closes at six on weekdays.",
    "The train to the airport leaves every hour.",
    "The form has three pages and a signature box.",
    "The office is on the second floor of the building.",
    "The report lists the figures for each month.",
    "The bus stops at the corner of the main street.",
    "The invoice number is printed at the top right.",
    "The museum is closed on Mondays and public holidays.",
    "The package weighs two kilograms and a half.",
    "The course starts in September and ends in June.",
    "The car park has two hundred spaces on three levels.",
]
LABELS = [
    {"name": "positive", "description": "Pleased."},
    {"name": "negative", "description": "Unhappy."},
    {"name": "neutral", "description": "Plain facts."},
]


def _is_control(project, texts, fraction):
    items = {item.text: item.pk for item in project.items.all()}
    ids = np.array([items[text] for text in texts])
    return dict(zip(texts, control_mask(ids, fraction=fraction, salt=control_salt(project.pk))))


def test_the_control_slice_is_about_its_fraction_of_the_pool_and_marked_on_the_items(manager, annotator):
    texts = [f"Note number {n} about the weather and the trains." for n in range(200)]
    project = al_project(manager=manager, annotator=annotator, texts=texts)
    al_on(project, manager, control_fraction=0.2)

    refresh(project)

    marked = Item.objects.filter(project=project, in_control=True).count()
    assert 20 <= marked <= 60  # 40 expected; binomial sd about 5.7 (the salt differs per project)
    controls = _is_control(project, texts, 0.2)
    assert marked == sum(controls.values())
    # Every fifth slot of the queue is a control item.
    order = list(Item.objects.filter(project=project).order_by("queue_rank", "id").values_list("in_control", flat=True))
    assert sum(order[:50]) == 10


def test_accuracy_is_measured_only_on_labelled_control_items_by_a_head_never_trained_on_them(manager, annotator):
    # Twelve of each, so that with half the items in the (per-project random) control slice
    # both slices hold every label but for odds of about one in four thousand.
    positive = [f"{text} ({n})" for text in POSITIVE for n in (1, 2)]
    negative = [f"{text} ({n})" for text in NEGATIVE for n in (1, 2)]
    texts = [*positive, *negative, *NEUTRAL]
    project = al_project(manager=manager, annotator=annotator, texts=texts, labels=LABELS)
    fraction = 0.5
    controls = _is_control(project, texts, fraction)
    assert any(controls[t] for t in NEUTRAL) and not all(controls[t] for t in texts)
    # Neutral texts are labelled "neutral" only where they are control items; elsewhere they stay
    # unlabelled. A head trained on control labels would know "neutral"; this one cannot.
    for text in positive:
        label(project, annotator, text, "positive")
    for text in negative:
        label(project, annotator, text, "negative")
    control_neutral = [text for text in NEUTRAL if controls[text]]
    for text in control_neutral:
        label(project, annotator, text, "neutral")
    al_on(project, manager, control_fraction=fraction)

    refresh(project)

    point = LearningCurvePoint.objects.get(project=project)
    labelled = [*positive, *negative, *control_neutral]
    assert point.labels == len(labelled)
    assert point.control_labels == sum(controls[text] for text in labelled)
    labelled_control = [text for text in labelled if controls[text]]
    # At best the head gets every control item that is not neutral right.
    best = sum(text not in control_neutral for text in labelled_control) / len(labelled_control)
    assert point.accuracy is not None and point.accuracy <= best + 1e-9
    # And it is exactly the accuracy of a head fitted on the other labelled items.
    ids, X = embeddings_matrix(project=project)
    row = {item.text: int(np.searchsorted(ids, item.pk)) for item in project.items.all()}
    names = {text: "positive" if text in positive else "negative" if text in negative else "neutral" for text in texts}
    train = [text for text in labelled if not controls[text]]
    head = head_fit(X[[row[t] for t in train]], [(names[t],) for t in train],
                    labels=["positive", "negative", "neutral"], multi_label=False)
    expected = accuracy(head, X[[row[t] for t in labelled_control]], [(names[t],) for t in labelled_control])
    assert point.accuracy == pytest.approx(expected)


def test_no_labelled_control_item_means_no_accuracy_yet(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE])
    controls = _is_control(project, [*POSITIVE, *NEGATIVE], 0.0)
    assert not any(controls.values())
    for text in POSITIVE:
        label(project, annotator, text, "positive")
    for text in NEGATIVE[:3]:
        label(project, annotator, text, "negative")
    al_on(project, manager, control_fraction=0.0)

    refresh(project)

    point = LearningCurvePoint.objects.get(project=project)
    assert (point.control_labels, point.accuracy) == (0, None)


def test_the_stopping_hint_turns_on_once_predictions_stop_changing(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE, *NEUTRAL])
    for text in POSITIVE[:3]:
        label(project, annotator, text, "positive")
    for text in NEGATIVE[:3]:
        label(project, annotator, text, "negative")
    state = al_on(project, manager, control_fraction=0.0)
    assert stopping_hint(state=state) == {"stopped": False, "agreement": None, "refreshes": 0}

    state = refresh(project)
    assert state.stop_history == [] and not state.stopped
    items = state.stop_set["items"]
    assert len(items) == 18 and set(items) <= set(project.items.values_list("pk", flat=True))
    # The stored predictions are sealed: no clear label in the state row.
    assert "positive" not in str(state.stop_set) and set(state.stop_set) == {"items", "predictions"}

    for _ in range(3):
        state = refresh(project)

    assert state.stop_set["items"] == items
    assert state.stop_history == [1.0, 1.0, 1.0]
    assert stopping_hint(state=state) == {"stopped": True, "agreement": 1.0, "refreshes": 3}


def test_new_labels_that_change_the_predictions_lower_the_agreement(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE, *NEUTRAL])
    label(project, annotator, POSITIVE[0], "positive")
    label(project, annotator, NEGATIVE[0], "negative")
    al_on(project, manager, control_fraction=0.0)
    refresh(project)
    # Flipped labels on most of the pool make a very different head.
    for text in POSITIVE[1:]:
        label(project, annotator, text, "negative")
    for text in NEGATIVE[1:]:
        label(project, annotator, text, "positive")

    state = refresh(project)

    assert len(state.stop_history) == 1 and state.stop_history[0] < 0.9 and not state.stopped


def test_an_item_erased_from_the_stop_set_leaves_the_rest_of_it_in_use(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE, *NEUTRAL])
    label(project, annotator, POSITIVE[0], "positive")
    label(project, annotator, NEGATIVE[0], "negative")
    al_on(project, manager, control_fraction=0.0)
    items = refresh(project).stop_set["items"]
    Item.objects.filter(pk=items[0]).delete()

    state = refresh(project)
    state = refresh(project)

    assert refresh_error(project=project) == "" and state.stop_set["items"] == items[1:]
    assert state.stop_history == [1.0]
