"""The item browser's reads: a project's items scoped to the reader, filtered, keyset-paged, with a capped count."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from annotation.hooks import Hook, hook_run
from annotation.models import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    Item,
    PiiFinding,
    Prediction,
)
from annotation.selectors.search import item_ids_matching_words, items_matching_text
from governance.keyring import project_readable_check
from governance.roles import Perm
from projects.models import Project

PAGE_SIZE = 50
PAGE_SIZE_MAX = 200
# Counting stops here: past it the page says "more than 10,000" rather than scan every match.
COUNT_CAP = 10_000
# Characters of an item's text a row shows; the item page shows it whole.
TEXT_PREVIEW_CHARS = 160


class ItemState(models.TextChoices):
    """The badges a row carries and the ``status`` filter's values; an item may carry several."""

    OPEN = "open", pgettext_lazy("item state", "Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    FINAL = "final", _("Final")
    GOLD = "gold", _("Gold")
    SKIPPED = "skipped", _("Skipped")
    SENT_BACK = "sent_back", _("Sent back")


class Agreement(models.TextChoices):
    UNANIMOUS = "unanimous", _("Unanimous")
    SPLIT = "split", pgettext_lazy("agreement", "Split")
    UNDECIDED = "undecided", _("Undecided")


class DuplicateRole(models.TextChoices):
    KEEPER = "keeper", _("Keeps a group")
    LINKED = "linked", _("Linked to a keeper")
    NONE = "none", _("Not a duplicate")


@dataclass(frozen=True)
class ItemFilters:
    """What the reader asked for; every field empty means every item they may see."""

    statuses: tuple[str, ...] = ()
    annotator: str = ""
    agreement: str = ""
    model_version: str = ""
    confidence_min: float | None = None
    confidence_max: float | None = None
    pii: str = ""  # an entity name, "any" or "none"
    pii_status: str = ""
    duplicates: str = ""
    group: int | None = None
    source: int | None = None
    imported_from: date | None = None
    imported_to: date | None = None
    dataset_version: int | None = None
    q: str = ""
    text: str = ""

    def as_dict(self) -> dict:
        """The filters that are set, in a form JSON can hold (a bulk job records what it was given)."""
        values = {}
        for name, value in vars(self).items():
            if value in ("", None, ()):
                continue
            values[name] = (
                list(value)
                if isinstance(value, tuple)
                else (value.isoformat() if isinstance(value, date) else value)
            )
        return values


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _answers_with(status: str) -> Q:
    return Q(Exists(Annotation.objects.filter(item=OuterRef("pk"), status=status)))


# Built when asked for: the subqueries cost Python to build, and a page asks for one or two states.
_STATE_QS = {
    ItemState.OPEN: lambda: Q(is_gold=False, is_done=False, annotation_count=0),
    ItemState.IN_PROGRESS: lambda: Q(is_gold=False, is_done=False, annotation_count__gt=0),
    ItemState.DONE: lambda: Q(is_gold=False, is_done=True),
    ItemState.FINAL: lambda: Q(Exists(FinalAnnotation.objects.filter(item=OuterRef("pk")))),
    ItemState.GOLD: lambda: Q(is_gold=True),
    ItemState.SKIPPED: lambda: _answers_with(AnnotationStatus.SKIPPED),
    ItemState.SENT_BACK: lambda: _answers_with(AnnotationStatus.REJECTED),
}


def _state_q(state: str) -> Q:
    return _STATE_QS[state]()


def _latest_predictions(project: Project) -> QuerySet[Prediction]:
    """Each item's latest prediction: those with no newer one for the same item.

    A semi-join over the project's predictions: a subquery per item (the latest's model or score)
    cost 0.6 s to count at 100,000 items on PostgreSQL, and its estimate switched on the JIT.
    """
    newer = Prediction.objects.filter(item=OuterRef("item")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    return Prediction.objects.filter(project=project).filter(~Exists(newer))


def _searched(items: QuerySet, project: Project, filters: ItemFilters) -> QuerySet:
    if filters.q:
        items = items.filter(pk__in=item_ids_matching_words(project=project, query=filters.q))
    if filters.text:
        items = items.filter(
            pk__in=items_matching_text(project=project, text=filters.text).values("pk")
        )
    return items


def item_browse(
    *, project: Project, user, perms: frozenset[str], filters: ItemFilters
) -> QuerySet[Item]:
    """The project's items ``user`` may browse that match ``filters``, unordered.

    Members who browse items (managers, reviewers, ML engineers) see every item; annotators only
    those they answered or skipped. Repeated ``statuses`` match any of them; other filters combine
    with AND. Raises ValidationError naming the filter when a value names nothing in the project.
    """
    project_readable_check(project=project)
    items = Item.objects.filter(project=project)
    if Perm.BROWSE_ITEMS not in perms:
        items = items.filter(Exists(Annotation.objects.filter(item=OuterRef("pk"), annotator=user)))
    if filters.statuses:
        any_state = Q()
        for state in filters.statuses:
            any_state |= _state_q(state)
        items = items.filter(any_state)
    if filters.annotator:
        items = items.filter(
            Exists(
                Annotation.objects.filter(
                    item=OuterRef("pk"), annotator__username=filters.annotator
                )
            )
        )
    if filters.agreement == Agreement.UNDECIDED:
        items = items.filter(~Exists(FinalAnnotation.objects.filter(item=OuterRef("pk"))))
    elif filters.agreement:
        unanimous = filters.agreement == Agreement.UNANIMOUS
        items = items.filter(
            Exists(FinalAnnotation.objects.filter(item=OuterRef("pk"), unanimous=unanimous))
        )
    items = _suggestions_filtered(items, project, filters)
    items = _pii_filtered(items, filters)
    items = _duplicates_filtered(items, filters)
    if filters.source is not None:
        items = items.filter(source_id=filters.source)
    if filters.imported_from:
        items = items.filter(created_at__gte=_day_start(filters.imported_from))
    if filters.imported_to:
        items = items.filter(created_at__lt=_day_start(filters.imported_to + timedelta(days=1)))
    if filters.dataset_version is not None:
        items = items.filter(pk__in=_dataset_version_items(project, filters.dataset_version))
    if filters.q or filters.text:
        items = _searched(items, project, filters)
    return items


def _suggestions_filtered(items: QuerySet, project: Project, filters: ItemFilters) -> QuerySet:
    """``model_version``: a suggestion by that model; the confidence bounds: the score of that model's
    suggestion, or without a model of the latest suggestion (the one the row shows)."""
    bounded = filters.confidence_min is not None or filters.confidence_max is not None
    if not (filters.model_version or bounded):
        return items
    if filters.model_version:
        # One per item and model version (a unique index): no need to find the latest.
        suggestions = Prediction.objects.filter(
            project=project, model_version=filters.model_version
        )
    else:
        suggestions = _latest_predictions(project)
    if filters.confidence_min is not None:
        suggestions = suggestions.filter(score__gte=filters.confidence_min)
    if filters.confidence_max is not None:
        suggestions = suggestions.filter(score__lte=filters.confidence_max)
    return items.filter(pk__in=suggestions.values("item_id"))


def _pii_filtered(items: QuerySet, filters: ItemFilters) -> QuerySet:
    if filters.pii == "none":
        return items.filter(~Exists(PiiFinding.objects.filter(item=OuterRef("pk"))))
    if not (filters.pii or filters.pii_status):
        return items
    # One finding must match both: "an email still pending", not "an email, and something pending".
    findings = PiiFinding.objects.filter(item=OuterRef("pk"))
    if filters.pii and filters.pii != "any":
        findings = findings.filter(entity=filters.pii)
    if filters.pii_status:
        findings = findings.filter(status=filters.pii_status)
    return items.filter(Exists(findings))


def _duplicates_filtered(items: QuerySet, filters: ItemFilters) -> QuerySet:
    # Keepers as the set of ids linked to (the index on duplicate_of, read only where it is set).
    keeps = Q(pk__in=Item.objects.filter(duplicate_of__isnull=False).values("duplicate_of_id"))
    if filters.duplicates == DuplicateRole.KEEPER:
        items = items.filter(keeps)
    elif filters.duplicates == DuplicateRole.LINKED:
        items = items.filter(duplicate_of__isnull=False)
    elif filters.duplicates == DuplicateRole.NONE:
        items = items.filter(Q(duplicate_of__isnull=True) & ~keeps)
    if filters.group is not None:
        items = items.filter(Q(pk=filters.group) | Q(duplicate_of_id=filters.group))
    return items


def _dataset_version_items(project: Project, number: int):
    answers = [
        found
        for found in hook_run(Hook.DATASET_VERSION_ITEMS, project=project, number=number)
        if found is not None
    ]
    if not answers:
        raise ValidationError(
            {
                "dataset_version": gettext("This project has no dataset version %(number)s.")
                % {"number": number}
            }
        )
    return answers[0]


@dataclass(frozen=True)
class CappedCount:
    """How many items match, counted no further than COUNT_CAP."""

    value: int
    capped: bool


def item_browse_count(*, items: QuerySet[Item]) -> CappedCount:
    """Count the matches up to COUNT_CAP with a LIMITed subquery, so a big project is never counted whole."""
    counted = items.order_by()[: COUNT_CAP + 1].count()
    return CappedCount(value=min(counted, COUNT_CAP), capped=counted > COUNT_CAP)


def item_browse_ids(*, items: QuerySet[Item]):
    """Every matching id, ascending, streamed: what a bulk action acts on."""
    return items.order_by("id").values_list("id", flat=True).iterator(chunk_size=5000)
