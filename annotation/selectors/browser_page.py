"""A page of the item browser: its rows with everything each column shows, in a fixed handful of statements."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext

from annotation.hooks import Hook, hook_run
from annotation.models import (
    AnnotationStatus,
    Item,
    Prediction,
)
from annotation.selectors.browser import (
    PAGE_SIZE,
    PAGE_SIZE_MAX,
    TEXT_PREVIEW_CHARS,
    Agreement,
    ItemState,
)
from governance.roles import Perm
from projects.models import Project


@dataclass
class BrowserRow:
    id: int
    external_id: str
    text: str
    states: list[str]
    annotators: list[str]
    agreement: str
    suggestion: dict | None
    pii: dict[str, int]
    duplicate_of: int | None
    keeps: int
    source: str
    imported_at: datetime
    dataset_versions: list[int] = field(default_factory=list)
    annotation_count: int = 0
    is_done: bool = False
    is_gold: bool = False
    # Opened only where asked for (the API): the page shows no metadata.
    meta: dict | None = None

    # The item page's address, where the caller knows it.
    url: str | None = None

    @property
    def badges(self) -> list[tuple[str, str]]:
        return [(state, ItemState(state).label) for state in self.states]

    @property
    def agreement_label(self) -> str:
        return Agreement(self.agreement).label if self.agreement else ""

    @property
    def group(self) -> int | None:
        """The keeper's id when the item belongs to a near-duplicate group (itself when it keeps one)."""
        return self.duplicate_of or (self.id if self.keeps else None)


@dataclass(frozen=True)
class BrowserPage:
    rows: list[BrowserRow]
    # The cursor of the next page (the last row's id), None on the last page.
    next_after: int | None


def item_browse_page(
    *,
    project: Project,
    user,
    perms: frozenset[str],
    items: QuerySet[Item],
    after: int | None = None,
    page_size: int = PAGE_SIZE,
    text_chars: int | None = TEXT_PREVIEW_CHARS,
    with_meta: bool = False,
) -> BrowserPage:
    """One page of ``items``, newest first, starting below the id ``after``: a handful of queries.

    Keyset paging (``id < after``) reads only the page's rows from the primary key's index
    however deep the page, where OFFSET would read every row before it. The caller records the
    read of the texts (items_read_record): the rows hold them decrypted.
    """
    page_size = max(1, min(page_size, PAGE_SIZE_MAX))
    if after is not None:
        items = items.filter(pk__lt=after)
    columns = [
        "id", "external_id", "text_ct", "text_index", "is_done", "is_gold", "annotation_count",
        "duplicate_of_id", "source__name", "created_at", "final__id", "final__unanimous",
    ]  # fmt: skip
    if with_meta:
        columns.append("meta_ct")
    rows = [
        (*row, None)[:13] for row in items.order_by("-id").values_list(*columns)[: page_size + 1]
    ]
    more = len(rows) > page_size
    rows = rows[:page_size]
    ids = [row[0] for row in rows]
    see_all_answers = Perm.VIEW_ANNOTATIONS in perms
    details = _page_details(
        project.pk, ids, user_id=None if see_all_answers else user.pk,
        with_suggestions=Perm.VIEW_PREDICTIONS in perms,
    )  # fmt: skip
    answers, suggestions, pii, keeps = details
    versions = _dataset_versions_of(project, ids)
    page = []
    for (
        item_id, external_id, text_ct, text_index, is_done, is_gold, annotation_count,
        duplicate_of_id, source_name, created_at, final_id, unanimous, meta_ct,
    ) in rows:  # fmt: skip
        text = Item.text.opened(project.pk, text_ct, text_index)
        if text_chars is not None and len(text) > text_chars:
            text = text[: text_chars - 1] + "…"
        statuses = {status for _, status in answers.get(item_id, [])}
        states = _states(is_done, is_gold, annotation_count, final_id is not None, statuses)
        if final_id is None:
            agreement = Agreement.UNDECIDED
        else:
            agreement = Agreement.UNANIMOUS if unanimous else Agreement.SPLIT
        page.append(
            BrowserRow(
                id=item_id,
                external_id=external_id,
                text=text,
                states=states,
                annotators=sorted({name for name, _ in answers.get(item_id, [])}),
                agreement=agreement if see_all_answers else "",
                suggestion=suggestions.get(item_id),
                pii=pii.get(item_id, {}),
                duplicate_of=duplicate_of_id,
                keeps=keeps.get(item_id, 0),
                source=source_name or "",
                imported_at=created_at,
                dataset_versions=versions.get(item_id, []),
                annotation_count=annotation_count,
                is_done=is_done,
                is_gold=is_gold,
                meta=Item.meta.opened(project.pk, meta_ct) if with_meta else None,
            )
        )
    return BrowserPage(rows=page, next_after=ids[-1] if more else None)


def _states(is_done, is_gold, annotation_count, has_final, statuses) -> list[str]:
    if is_gold:
        states = [ItemState.GOLD]
    elif is_done:
        states = [ItemState.DONE]
    else:
        states = [ItemState.IN_PROGRESS if annotation_count else ItemState.OPEN]
    if has_final:
        states.append(ItemState.FINAL)
    if AnnotationStatus.SKIPPED in statuses:
        states.append(ItemState.SKIPPED)
    if AnnotationStatus.REJECTED in statuses:
        states.append(ItemState.SENT_BACK)
    return [str(state) for state in states]


# The page's details, four statements on one cursor. Written out rather than through the ORM:
# building each queryset cost ~0.8 ms of Python where the statement itself takes ~0.1 ms
# (PostgreSQL, 100,000 items, bench/RESULTS.md), most of an API page's remaining time.
_ANSWERS_SQL = (
    "SELECT a.item_id, u.username, a.status FROM annotation_annotation a"
    " JOIN auth_user u ON u.id = a.annotator_id WHERE a.item_id IN ({ids})"
)
_SUGGESTIONS_SQL = (
    "SELECT item_id, model_version, score, value_ct FROM annotation_prediction"
    " WHERE item_id IN ({ids}) ORDER BY item_id, created_at DESC, id DESC"
)
_PII_SQL = (
    "SELECT item_id, entity, COUNT(*) FROM annotation_piifinding WHERE item_id IN ({ids})"
    " GROUP BY item_id, entity ORDER BY item_id, entity"
)
_KEEPS_SQL = (
    "SELECT duplicate_of_id, COUNT(*) FROM annotation_item WHERE duplicate_of_id IN ({ids})"
    " GROUP BY duplicate_of_id"
)


def _page_details(project_id: int, ids: list[int], *, user_id: int | None, with_suggestions: bool):
    """For the page's ``ids``: (annotator's username, answer status) per item, only ``user_id``'s
    own unless None; each item's latest suggestion, its value opened for this page only (none
    unless ``with_suggestions``); findings by entity; how many items each links as near duplicates."""
    answers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    latest: dict[int, dict] = {}
    pii: dict[int, dict[str, int]] = defaultdict(dict)
    keeps: dict[int, int] = {}
    if not ids:
        return answers, latest, pii, keeps
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        if user_id is None:
            cursor.execute(_ANSWERS_SQL.format(ids=marks), ids)
        else:
            cursor.execute(_ANSWERS_SQL.format(ids=marks) + " AND a.annotator_id = %s", [*ids, user_id])
        for item_id, username, status in cursor.fetchall():
            answers[item_id].append((username, status))
        if with_suggestions:
            cursor.execute(_SUGGESTIONS_SQL.format(ids=marks), ids)
            for item_id, model_version, score, value_ct in cursor.fetchall():
                if item_id in latest:
                    continue
                value = Prediction.value.opened(project_id, value_ct, item_id)
                latest[item_id] = {
                    "value": value_summary(value),
                    "score": score,
                    "model_version": model_version,
                }
        cursor.execute(_PII_SQL.format(ids=marks), ids)
        for item_id, entity, n in cursor.fetchall():
            pii[item_id][entity] = n
        cursor.execute(_KEEPS_SQL.format(ids=marks), ids)
        keeps = dict(cursor.fetchall())
    return answers, latest, pii, keeps


def value_summary(value: dict | None) -> str:
    """An answer in a few words: its labels, or how many spans of which labels."""
    if not value:
        return ""
    if "spans" in value:
        labels = Counter(span["label"] for span in value["spans"])
        return ", ".join(f"{label} ×{count}" for label, count in sorted(labels.items())) or gettext(
            "no spans"
        )
    return ", ".join(value.get("labels", []))


def _dataset_versions_of(project: Project, ids: list[int]) -> dict[int, list[int]]:
    merged: dict[int, list[int]] = defaultdict(list)
    if not ids:
        return merged
    for found in hook_run(Hook.ITEM_DATASET_VERSIONS, project=project, item_ids=ids):
        for item_id, numbers in (found or {}).items():
            merged[item_id].extend(numbers)
    return merged
