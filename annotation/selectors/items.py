"""Items and the suggestions on them; callers have already passed the permission gate."""

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import (
    Annotation,
    Item,
    ItemLock,
    LockPurpose,
    Prediction,
)
from governance.keyring import project_cipher, project_readable_check
from governance.rows import instances_from_rows, model_columns
from projects.models import Project


def item_list(*, project: Project) -> QuerySet[Item]:
    project_readable_check(project=project)
    return Item.objects.filter(project=project).order_by("id")


def item_for_reader(
    *, project_id: int, item_id: int, user_id: int, every_item: bool
) -> Item | None:
    """The item if the reader may see it: any of the project's items with ``every_item``, otherwise
    only one the queue handed them (a hold, live or lapsed) or that they answered or skipped.

    The lookup behind ``governance.access.access_item``, which owns the rule and calls this.
    """
    items = Item.objects.filter(pk=item_id, project_id=project_id)
    if not every_item:
        handed = ItemLock.objects.filter(
            item=OuterRef("pk"), user_id=user_id, purpose=LockPurpose.ANNOTATE
        )
        answered = Annotation.objects.filter(item=OuterRef("pk"), annotator_id=user_id)
        items = items.filter(Exists(handed) | Exists(answered))
    return items.first()


def item_find_by_text(*, project: Project, text: str) -> QuerySet[Item]:
    """Items whose text equals ``text`` after normalisation, found through the blind index."""
    return item_list(project=project).filter(
        text_index=project_cipher(project.pk).blind_index(text)
    )


def prediction_list(*, project: Project) -> QuerySet[Prediction]:
    project_readable_check(project=project)
    return Prediction.objects.filter(project=project).order_by("id")


def prediction_latest(*, item: Item) -> Prediction | None:
    # Written out (the labelling API asks it on every "next"); the same statement as
    # item.predictions.order_by("-created_at", "-id").first(), at a third of the CPU.
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {model_columns(Prediction)} FROM {q(Prediction._meta.db_table)}"
            f" WHERE {q('item_id')} = %s ORDER BY {q('created_at')} DESC, {q('id')} DESC LIMIT 1",
            [item.pk],
        )
        row = cursor.fetchone()
    return instances_from_rows(Prediction, [row])[0] if row is not None else None


def item_suggestion(*, item: Item, may_see_predictions: bool) -> Prediction | None:
    """The suggestion shown with an item someone labels: its latest prediction, never for a gold item.

    A gold item measures the annotator against its known answer; a suggestion would let them pass
    by accepting it. It gets none, and nothing else marks it out.
    """
    if not may_see_predictions or item.is_gold:
        return None
    return prediction_latest(item=item)
