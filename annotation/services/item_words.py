"""The word index of item texts (ItemWord): filed with new and edited texts, dropped with items."""

from collections.abc import Callable, Iterable

from django.db import connections, router, transaction

from annotation.models import Item, ItemWord
from governance.crypto import FieldCipher
from governance.keyring import DataShredded, project_cipher

BATCH_SIZE = 1000


def item_words_file(
    *,
    cipher: FieldCipher,
    texts: Iterable[tuple[int, str]],
    word_tokens: Callable[[str], Iterable[int]] | None = None,
) -> int:
    """Insert the word rows of items that have none yet: ``texts`` holds (item id, text) pairs
    of ``cipher``'s project. The rows written; the caller holds the transaction (an import's
    batch, where the plaintext is in memory anyway). ``word_tokens`` stands in for
    ``cipher.word_tokens`` with the same result (an import's cache of its words' tokens)."""
    project_id = cipher.project_id
    tokens_of = cipher.word_tokens if word_tokens is None else word_tokens
    rows = [
        (project_id, token, item_id)
        for item_id, text in texts
        for token in tokens_of(text)
    ]
    if not rows:
        return 0
    alias = router.db_for_write(ItemWord)
    connection = connections[alias]
    table = connection.ops.quote_name(ItemWord._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"INSERT INTO {table} (project_id, token, item_id) VALUES (%s, %s, %s)", rows
            )
            return len(rows)
        # COPY: PostgreSQL parses the rows natively (see bulk_insert.rows_insert for why).
        with cursor.cursor.copy(f"COPY {table} (project_id, token, item_id) FROM STDIN") as copy:
            copy.write("".join(f"{p}\t{t}\t{i}\n" for p, t, i in rows))
    return len(rows)


@transaction.atomic
def item_words_write(*, items: Iterable[Item]) -> int:
    """File the words of ``items`` (saved, carrying ``.text``) in place of those filed before:
    call it in the transaction that changes an item's text. The rows written."""
    by_project: dict[int, list[Item]] = {}
    for item in items:
        by_project.setdefault(item.project_id, []).append(item)
    written = 0
    for project_id, chunk in by_project.items():
        item_words_delete(item_ids=[item.pk for item in chunk])
        cipher = project_cipher(project_id)
        written += item_words_file(cipher=cipher, texts=[(item.pk, item.text) for item in chunk])
    return written


def item_words_delete(*, item_ids: Iterable[int]) -> int:
    """Drop the word rows of these items (deleting an item drops them too, by cascade)."""
    item_ids = list(item_ids)
    deleted = 0
    for start in range(0, len(item_ids), BATCH_SIZE):
        chunk = item_ids[start : start + BATCH_SIZE]
        # Nothing refers to a word row and no signal listens: Django deletes them in one statement.
        deleted += ItemWord.objects.filter(item_id__in=chunk).delete()[0]
    return deleted


def item_words_rebuild(*, project_id: int, batch_size: int = BATCH_SIZE) -> int:
    """File the words of every item of the project afresh, one transaction per batch of items;
    the rows written. For items imported before the index existed (``manage.py
    item_words_rebuild``); safe to run again or beside imports and edits, which file their own.
    A shredded project has nothing left to file: its rows are dropped."""
    try:
        cipher = project_cipher(project_id)
    except DataShredded:
        item_words_shred(project_id=project_id)
        return 0
    items = Item.objects.filter(project_id=project_id).order_by("id")
    written, after = 0, 0
    while True:
        with transaction.atomic():
            chunk = list(items.filter(id__gt=after).only(*Item.TEXT_FIELDS)[:batch_size])
            if not chunk:
                return written
            item_words_delete(item_ids=[item.pk for item in chunk])
            written += item_words_file(
                cipher=cipher, texts=[(item.pk, item.text) for item in chunk]
            )
        after = chunk[-1].pk


def item_words_shred(*, project_id: int) -> int:
    """Drop every word row of the project (its data key is being destroyed): the rows deleted.
    Registered with governance's shredding in AnnotationConfig.ready()."""
    return ItemWord.objects.filter(project_id=project_id).delete()[0]
