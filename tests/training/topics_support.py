"""A small three-topic project whose real MiniLM embeddings separate the topics: for label checks and similar items."""

import itertools

from annotation.models import Item
from governance.roles import ProjectRole
from tests.factories import answer_submit, project_make
from training.services.embeddings import embeddings_compute_run

TOPIC_LABELS = [
    {"name": "sport", "description": "Games, matches, teams and athletes."},
    {"name": "cooking", "description": "Recipes, kitchens and food."},
    {"name": "weather", "description": "Rain, sun, wind and forecasts."},
]
_PARTS = {
    "sport": (
        ["The striker", "Our goalkeeper", "The tennis champion", "The cycling team", "The rugby captain"],
        ["scored twice in the final match", "won the league title on penalties", "trained hard for the championship"],
    ),
    "cooking": (
        ["The chef", "My grandmother", "The baker", "Our neighbour", "The pastry cook"],
        ["simmered the tomato sauce with garlic and basil", "baked a chocolate cake in the oven", "fried the onions before adding the rice"],
    ),
    "weather": (
        ["The forecast", "The storm", "Heavy rain", "A cold wind", "The morning fog"],
        ["brought thunder and hail across the region", "kept temperatures below freezing all week", "cleared up to a sunny afternoon"],
    ),
}


def topic_texts(per_topic: int = 12) -> list[tuple[str, str]]:
    """(text, topic) pairs, ``per_topic`` of each topic, in a fixed order."""
    pairs = []
    for topic, (subjects, endings) in _PARTS.items():
        combos = itertools.islice(itertools.product(subjects, endings), per_topic)
        pairs += [(f"{subject} {ending}.", topic) for subject, ending in combos]
    return pairs


def topic_project(
    *, manager, annotator, per_topic: int = 12, flipped: dict | None = None, task_type: str = "single_label"
):
    """The project with every item labelled (by ``annotator``) and embedded; ``flipped`` maps a
    row of ``topic_texts`` to the wrong label it gets instead of its topic (or, multi-label, the
    wrong list of labels)."""
    flipped = flipped or {}
    pairs = topic_texts(per_topic)
    project = project_make(
        manager=manager,
        labels=TOPIC_LABELS,
        task_type=task_type,
        texts=[text for text, _ in pairs],
        members={annotator: ProjectRole.ANNOTATOR},
    )
    by_text = {item.text: item for item in project.items.all()}
    for row, (text, topic) in enumerate(pairs):
        given = flipped.get(row, topic)
        labels = given if isinstance(given, list) else [given]
        answer_submit(actor=annotator, item=by_text[text], value={"labels": labels})
    embeddings_compute_run(project_id=project.pk, notify=False)
    return project, pairs


def item_by_text(project, text: str) -> Item:
    return next(item for item in project.items.all() if item.text == text)
