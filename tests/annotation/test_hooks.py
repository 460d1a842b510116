"""annotation starts training's work and draws its panels through what training registers at start-up."""

import pytest

from annotation.hooks import (
    Hook,
    Panel,
    _panels,
    _registered,
    hook_register,
    hook_run,
    panel_register,
    panels_render,
)
from training.services.active_learning import active_learning_labels_added
from training.services.embeddings import embeddings_compute_request


def test_training_registers_its_follow_up_work_on_annotation_hooks_at_start_up():
    assert active_learning_labels_added in _registered[Hook.LABELS_ADDED]
    assert embeddings_compute_request in _registered[Hook.ITEMS_IMPORTED]


def test_a_hook_calls_each_registered_function_once_with_the_arguments(monkeypatch):
    monkeypatch.setitem(_registered, Hook.LABELS_ADDED, [])
    calls = []

    def counted(*, project_id):
        calls.append(project_id)

    hook_register(Hook.LABELS_ADDED, counted)
    hook_register(Hook.LABELS_ADDED, counted)
    hook_run(Hook.LABELS_ADDED, project_id=7)
    assert calls == [7]


@pytest.mark.django_db
def test_a_counted_answer_reaches_active_learning_through_the_hook_after_commit(
    project, annotator, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.factories import answer_submit

    calls = []
    monkeypatch.setitem(
        _registered, Hook.LABELS_ADDED, [lambda *, project_id: calls.append(project_id)]
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer_submit(actor=annotator, item=project.items.first(), value={"labels": ["positive"]})
    assert calls == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert calls == [project.pk]


def test_training_registers_its_panels_on_the_project_and_quality_pages_at_start_up():
    assert [template for template, _context in _panels[Panel.PROJECT_MAIN]] == [
        "training/partials/_project_learning_curve.html"
    ]
    assert [template for template, _context in _panels[Panel.PROJECT_SIDE]] == [
        "training/partials/_project_preannotation.html"
    ]
    assert [template for template, _context in _panels[Panel.QUALITY]] == [
        "training/partials/_label_check_rate.html"
    ]


@pytest.mark.django_db
def test_a_page_draws_its_panels_in_registration_order_leaving_out_those_without_context(
    project, rf, monkeypatch
):
    monkeypatch.setitem(_panels, Panel.QUALITY, [])
    check = "training/partials/_label_check_rate.html"
    preannotation = "training/partials/_project_preannotation.html"
    panel_register(Panel.QUALITY, template=preannotation, context=lambda **_: {"project": project})
    panel_register(Panel.QUALITY, template=check, context=lambda **_: None)
    panel_register(
        Panel.QUALITY, template=check, context=lambda *, project, perms: {"project": project}
    )

    request = rf.get("/")
    drawn = panels_render(Panel.QUALITY, request=request, project=project, perms=frozenset())

    assert len(drawn) == 2
    assert 'id="preannotation"' in drawn[0] and 'id="quality-label-check"' in drawn[1]
