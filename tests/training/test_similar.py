"""Similar items: cosine similarity over cached MiniLM embeddings, the item left out, and the read audited."""

import pytest
from django.core.exceptions import ValidationError

from governance.models import AuditEvent
from tests.factories import items_add
from tests.training.topics_support import item_by_text, topic_project
from training.services.similar import ItemNotEmbedded, similar_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def topics(manager, annotator):
    return topic_project(manager=manager, annotator=annotator, per_topic=6)


def test_finds_the_items_of_the_same_topic_first_closest_first_without_the_item_itself(topics, manager):
    project, pairs = topics
    text, topic = pairs[0]
    item = item_by_text(project, text)

    neighbours = similar_items(actor=manager, project=project, item=item, k=5)

    assert len(neighbours) == 5
    assert item.pk not in [neighbour.item.pk for neighbour in neighbours]
    topic_of = dict(pairs)
    assert [topic_of[neighbour.item.text] for neighbour in neighbours] == [topic] * 5
    scores = [neighbour.score for neighbour in neighbours]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= score <= 1.0 for score in scores)


def test_records_one_read_naming_exactly_the_items_returned(topics, manager):
    project, pairs = topics
    item = item_by_text(project, pairs[7][0])

    neighbours = similar_items(actor=manager, project=project, item=item, k=3, via="test", with_item=True)

    event = AuditEvent.objects.get(action="item.read", project_id=project.pk, details__via="test")
    assert event.details["items"] == [item.pk] + [neighbour.item.pk for neighbour in neighbours]
    assert event.actor == manager


def test_returns_every_other_item_when_fewer_than_asked_exist(topics, manager):
    project, pairs = topics
    neighbours = similar_items(actor=manager, project=project, item=item_by_text(project, pairs[0][0]), k=50)
    assert len(neighbours) == len(pairs) - 1


def test_says_when_the_item_has_no_embedding_yet(topics, manager):
    project, _ = topics
    items_add(project=project, actor=manager, texts=["A fresh item nobody has embedded."])
    fresh = item_by_text(project, "A fresh item nobody has embedded.")

    with pytest.raises(ItemNotEmbedded, match="no embedding yet"):
        similar_items(actor=manager, project=project, item=fresh)
    assert not AuditEvent.objects.filter(action="item.read", details__via="similar").exists()


@pytest.mark.parametrize("k", [0, 51])
def test_refuses_a_neighbour_count_out_of_range(topics, manager, k):
    project, pairs = topics
    with pytest.raises(ValidationError, match="between 1 and 50"):
        similar_items(actor=manager, project=project, item=item_by_text(project, pairs[0][0]), k=k)


def test_refuses_an_item_of_another_project(topics, manager, project):
    own, _ = topics
    with pytest.raises(ValidationError, match="another project"):
        similar_items(actor=manager, project=own, item=project.items.first())
