"""Finding a project's items by the words or the exact text of their encrypted texts."""

from django.db import connections, router
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery

from annotation.models import Item, ItemWord
from annotation.selectors.items import item_find_by_text
from governance.keyring import project_cipher
from projects.models import Project

# Counting a word's items stops here: past it, a word is common enough to go last.
_COUNT_CAP = 200
# The driving word and the next rarest, joined; any further words are counted (see below).
_JOINED = 3


def item_ids_matching_words(*, project: Project, query: str) -> QuerySet:
    """Ids of the project's items whose text holds every word of ``query`` (see
    FieldCipher.word_tokens: case and width folded, whole words, Chinese by characters and
    pairs); none for a query without a word. A subquery: ``items.filter(pk__in=...)``; in
    ``item_id`` order when ordered so, which a page of items in id order can walk.

    The rarest word drives (one range of the (project, token, item) key, already in item order);
    the next rarest are semi-joins the planner merges or probes; any further words are counted
    by one correlated subquery, a probe of the key per word and candidate. Not one semi-join per
    word: past about ten relations PostgreSQL plans the join order by a randomised search
    (geqo), and an 18-word query once ran for minutes instead of one millisecond.
    """
    tokens = project_cipher(project.pk).word_tokens(query)
    if not tokens:
        return ItemWord.objects.none().values_list("item_id", flat=True)
    ordered = _rarest_first(project.pk, tokens)
    driver, joined, counted = ordered[0], ordered[1:_JOINED], ordered[_JOINED:]
    words = ItemWord.objects.filter(project_id=project.pk, token=driver)
    for token in joined:
        words = words.filter(
            Exists(
                ItemWord.objects.filter(
                    project_id=project.pk, token=token, item_id=OuterRef("item_id")
                )
            )
        )
    if counted:
        held = (
            ItemWord.objects.filter(
                project_id=project.pk, item_id=OuterRef("item_id"), token__in=counted
            )
            .order_by()
            .values("item_id")
            .annotate(held=Count("*"))
            .values("held")
        )
        words = words.alias(held=Subquery(held)).filter(held=len(counted))
    return words.values_list("item_id", flat=True)


def items_matching_text(*, project: Project, text: str) -> QuerySet[Item]:
    """The project's items whose whole text equals ``text`` once normalised (the blind index)."""
    return item_find_by_text(project=project, text=text)


def _rarest_first(project_id: int, tokens: set[int]) -> list[int]:
    """The tokens, the word in fewest items first: one query of a capped index count per word."""
    tokens = sorted(tokens)
    if len(tokens) == 1:
        return tokens
    connection = connections[router.db_for_read(ItemWord)]
    table = connection.ops.quote_name(ItemWord._meta.db_table)
    count = (
        f"SELECT %s, (SELECT COUNT(*) FROM (SELECT 1 FROM {table} "
        "WHERE project_id = %s AND token = %s LIMIT %s) AS capped)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join([count] * len(tokens)),
            [value for token in tokens for value in (token, project_id, token, _COUNT_CAP)],
        )
        counts = dict(cursor.fetchall())
    return sorted(tokens, key=lambda token: (counts[token], token))
