import pytest

from annotation.models import Item, Label
from annotation.services.queue import queue_next_item
from governance.models import AuditEvent
from tests.training.active_learning_support import (
    NEGATIVE,
    POSITIVE,
    al_on,
    al_project,
    item_of,
    label,
    refresh,
)
from training.models.active import LearningCurvePoint
from training.selectors.active import learning_curve, refresh_error, refresh_latest, refresh_status
from training.services.active_learning import active_learning_update

pytestmark = pytest.mark.django_db

CONFIDENT = "Wonderful, delightful, lovely: I am so happy and I love it."
UNSURE = "The parcel was delivered on Tuesday at ten in a box."


def _labelled_project(manager, annotator, *, pool_first):
    texts = [*POSITIVE, *NEGATIVE, *pool_first]
    project = al_project(manager=manager, annotator=annotator, texts=texts)
    for text in POSITIVE:
        label(project, annotator, text, "positive")
    for text in NEGATIVE:
        label(project, annotator, text, "negative")
    return project


@pytest.mark.parametrize("strategy", ["least_confidence", "margin", "entropy", "diversity"])
def test_the_queue_serves_an_item_the_head_is_unsure_about_before_a_confident_one(manager, annotator, strategy):
    project = _labelled_project(manager, annotator, pool_first=[CONFIDENT, UNSURE])
    al_on(project, manager, strategy=strategy, control_fraction=0.0)

    state = refresh(project)

    assert refresh_status(refresh_latest(project=project)) == "idle"
    assert (refresh_error(project=project), state.scored_by) == ("", "head")
    assert queue_next_item(actor=annotator, project=project).text == UNSURE
    confident, unsure = item_of(project, CONFIDENT), item_of(project, UNSURE)
    assert 0 < unsure.queue_rank < confident.queue_rank


def test_without_active_learning_the_queue_keeps_import_order(manager, annotator):
    project = _labelled_project(manager, annotator, pool_first=[CONFIDENT, UNSURE])

    assert queue_next_item(actor=annotator, project=project).text == CONFIDENT
    assert set(Item.objects.filter(project=project).values_list("queue_rank", flat=True)) == {0.0}


def test_turning_the_loop_off_puts_the_queue_back_in_import_order(manager, annotator):
    project = _labelled_project(manager, annotator, pool_first=[CONFIDENT, UNSURE])
    al_on(project, manager, control_fraction=0.0)
    refresh(project)

    active_learning_update(actor=manager, project=project, strategy="off")

    assert set(Item.objects.filter(project=project).values_list("queue_rank", flat=True)) == {0.0}
    assert queue_next_item(actor=annotator, project=project).text == CONFIDENT
    event = AuditEvent.objects.filter(action="active_learning.update").order_by("-seq").first()
    assert event.details["changes"]["strategy"] == ["least_confidence", "off"]


def test_ranks_written_in_many_short_transactions_all_land(manager, annotator, monkeypatch):
    from training.services import active_ranking

    monkeypatch.setattr(active_ranking, "RANK_CHUNK", 3)  # 14 items: five transactions
    project = _labelled_project(manager, annotator, pool_first=[CONFIDENT, UNSURE])
    al_on(project, manager, control_fraction=0.0)

    refresh(project)

    assert queue_next_item(actor=annotator, project=project).text == UNSURE
    open_ranks = Item.objects.filter(project=project, is_done=False).values_list("queue_rank", flat=True)
    assert sorted(open_ranks) == [1.0, 2.0]


def test_a_loop_turned_off_while_ranks_are_written_keeps_import_order(manager, annotator, monkeypatch):
    from training.services import active_ranking

    project = _labelled_project(manager, annotator, pool_first=[CONFIDENT, UNSURE])
    al_on(project, manager, control_fraction=0.0)
    write = active_ranking.ranks_write

    def write_then_turn_off(**kwargs):  # a manager turns the loop off between two chunks
        write(**kwargs)
        active_learning_update(actor=manager, project=project, strategy="off")

    monkeypatch.setattr(active_ranking, "ranks_write", write_then_turn_off)
    refresh(project)

    assert set(Item.objects.filter(project=project).values_list("queue_rank", flat=True)) == {0.0}
    assert not LearningCurvePoint.objects.filter(project=project).exists()
    assert queue_next_item(actor=annotator, project=project).text == CONFIDENT


def test_a_refresh_records_a_learning_curve_point_and_is_audited(manager, annotator):
    project = _labelled_project(manager, annotator, pool_first=[CONFIDENT, UNSURE])
    al_on(project, manager)

    refresh(project)

    point = LearningCurvePoint.objects.get(project=project)
    assert point.labels == 12 and point.scored_by == "head"
    event = AuditEvent.objects.filter(action="active_learning.refresh", project_id=project.pk).get()
    assert event.details["labels"] == 12 and event.details["pool"] == 2
    curve = learning_curve(project=project)
    assert [(p["labels"], p["model_version"], p["activated"]) for p in curve] == [(12, None, False)]


def test_cold_start_with_seed_keywords_serves_a_seeded_item_first(manager, annotator):
    texts = ["The train leaves at noon.", "The shop opens at nine.", "My refund never arrived, what a scam."]
    project = al_project(manager=manager, annotator=annotator, texts=texts)
    Label.objects.filter(project=project, name="negative").update(keywords="refund, scam")
    al_on(project, manager, control_fraction=0.0)

    state = refresh(project)

    assert state.scored_by == "keywords"
    assert queue_next_item(actor=annotator, project=project).text == texts[2]
    event = AuditEvent.objects.filter(action="active_learning.refresh", project_id=project.pk).get()
    assert event.details["texts_read"] == 3


def test_cold_start_without_keywords_ranks_by_zero_shot_from_the_label_descriptions(manager, annotator):
    project = al_project(manager=manager, annotator=annotator, texts=[CONFIDENT, UNSURE, NEGATIVE[0]])
    al_on(project, manager, control_fraction=0.0)

    state = refresh(project)

    assert state.scored_by == "zero_shot"
    assert queue_next_item(actor=annotator, project=project).text == UNSURE


def test_the_random_strategy_ranks_every_pool_item_and_still_draws_a_learning_curve(manager, annotator):
    project = _labelled_project(manager, annotator, pool_first=[CONFIDENT, UNSURE])
    al_on(project, manager, strategy="random")

    state = refresh(project)

    assert state.scored_by == "random"
    ranks = sorted(Item.objects.filter(project=project, is_done=False).values_list("queue_rank", flat=True))
    assert ranks == [1.0, 2.0]
    assert LearningCurvePoint.objects.filter(project=project).count() == 1


def test_a_span_project_without_a_model_is_ordered_for_diversity_and_says_so(manager, annotator):
    project = al_project(
        manager=manager, annotator=annotator, texts=[CONFIDENT, UNSURE, NEGATIVE[0]], task_type="spans",
        labels=[{"name": "PER"}, {"name": "ORG"}],
    )
    al_on(project, manager, control_fraction=0.0)

    state = refresh(project)

    assert (state.scored_by, refresh_error(project=project)) == ("diversity", "")
    assert sorted(Item.objects.filter(project=project).values_list("queue_rank", flat=True)) == [1.0, 2.0, 3.0]


def test_settings_out_of_range_are_refused_naming_the_field(manager, annotator, project):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        active_learning_update(actor=manager, project=project, control_fraction=0.9)
    assert "control_fraction" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        active_learning_update(actor=manager, project=project, strategy="clever")
    assert "strategy" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        active_learning_update(actor=manager, project=project, colour="red")
    assert "colour" in error.value.message_dict


def test_a_multi_label_project_is_ranked_by_its_head_and_measured(manager, annotator):
    labels = [{"name": "praise"}, {"name": "complaint"}, {"name": "delivery"}]
    project = al_project(
        manager=manager, annotator=annotator, texts=[*POSITIVE, *NEGATIVE, CONFIDENT, UNSURE],
        labels=labels, task_type="multi_label",
    )
    for text in POSITIVE:
        label(project, annotator, text, "praise")
    for text in NEGATIVE:
        label(project, annotator, text, "complaint", "delivery")
    al_on(project, manager, strategy="entropy", control_fraction=0.5)

    state = refresh(project)

    assert (state.scored_by, refresh_error(project=project)) == ("head", "")
    point = LearningCurvePoint.objects.get(project=project)
    assert point.control_labels > 0 and 0.0 <= point.accuracy <= 1.0
    assert sorted(Item.objects.filter(project=project, is_done=False).values_list("queue_rank", flat=True)) == [1.0, 2.0]
    refresh(project)
    state.refresh_from_db()
    assert state.stop_history == [1.0]
