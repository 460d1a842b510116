"""Personal-data findings and near-duplicate groups as their review pages show them, a page at a time."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber

from annotation.models import Item, NearDupJob, PiiFinding
from common.jobs.models import ACTIVE_STATUSES
from common.text_marks import Segment, sentence_around, text_diff, text_marked
from governance.keyring import project_readable_check
from projects.models import PiiPolicy, Project

FINDINGS_PAGE_SIZE = 50
GROUPS_PAGE_SIZE = 10
# Linked items shown beside their keeper; a larger group says how many more it has.
GROUP_ITEMS_SHOWN = 5

# What masking and pseudonymising put in a value's place (governance/pii.py: pii_mask,
# pii_pseudonymise): a finding is looked for in the stored text as one of these, never as its value.
_TOKEN_HEX = 16


def _replacement(entity: str, action: str) -> re.Pattern | None:
    if action == PiiPolicy.MASK:
        return re.compile(re.escape(f"[{entity}]"))
    if action == PiiPolicy.PSEUDONYMISE:
        return re.compile(re.escape(f"<{entity}_") + f"[0-9a-f]{{{_TOKEN_HEX}}}>")
    return None


def findings_in_stored_text(text: str, findings: Iterable) -> dict[int, tuple[int, int]]:
    """Where each of one item's findings lies in its stored text: {finding id: (start, end)}.

    Findings keep the offsets of the text as imported; masking and pseudonymising then replaced
    each value by a tag or token of another length, shifting everything after it. Walking the
    item's findings in order undoes the shift. A finding whose tag, token or bounds are not where
    the walk expects them (the text was edited since, or the findings overlap) is left out, so
    nothing is ever marked at a wrong place.
    """
    placed, shift = {}, 0
    for finding in sorted(findings, key=lambda f: (f.start, f.end)):
        start = finding.start + shift
        pattern = _replacement(finding.entity, finding.action)
        if pattern is None:
            end = finding.end + shift
            fits = 0 <= start < end <= len(text)
        else:
            match = pattern.match(text, start) if 0 <= start <= len(text) else None
            end = match.end() if match else start
            fits = match is not None
        if fits:
            placed[finding.pk] = (start, end)
        shift += (end - start) - (finding.end - finding.start) if fits else 0
    return placed


@dataclass(frozen=True)
class FindingInContext:
    """A finding with the sentence around it; ``segments`` is empty when it cannot be placed."""

    finding: PiiFinding
    segments: list[Segment] = field(default_factory=list)
    cut_before: bool = False
    cut_after: bool = False

    @property
    def placed(self) -> bool:
        return bool(self.segments)


@dataclass(frozen=True)
class FindingPage:
    findings: list[FindingInContext]
    items: list[Item]
    # Keyset bounds: the id to start after for the next page, before for the previous one.
    next_after: int | None
    previous_before: int | None


def pii_finding_list(
    *, project: Project, status: str = "", entity: str = ""
) -> QuerySet[PiiFinding]:
    project_readable_check(project=project)
    findings = PiiFinding.objects.filter(project=project)
    if status:
        findings = findings.filter(status=status)
    if entity:
        findings = findings.filter(entity=entity)
    return findings


def pii_finding_page(
    *,
    project: Project,
    status: str = "",
    entity: str = "",
    after: int | None = None,
    before: int | None = None,
    size: int = FINDINGS_PAGE_SIZE,
) -> FindingPage:
    """One page of findings in id order, each in its sentence of the item's stored text.

    Keyset paging (``after`` or ``before`` an id) walks the (project, status, id) index from where
    the last page ended, so the thousandth page costs what the first does; no count is taken.
    """
    findings = pii_finding_list(project=project, status=status, entity=entity)
    if before is not None:
        rows = list(findings.filter(pk__lt=before).order_by("-id")[: size + 1])
        more_before, rows = len(rows) > size, rows[:size][::-1]
        more_after = True
    else:
        if after is not None:
            findings = findings.filter(pk__gt=after)
        rows = list(findings.order_by("id")[: size + 1])
        more_after, rows = len(rows) > size, rows[:size]
        more_before = after is not None
    items = {
        item.pk: item
        for item in Item.objects.filter(pk__in={f.item_id for f in rows}).only(
            "external_id", *Item.TEXT_FIELDS
        )
    }
    # Every finding of those items, whatever its status: each one shifted the text after it.
    siblings: dict[int, list[PiiFinding]] = {}
    for sibling in PiiFinding.objects.filter(item_id__in=items).only(
        "item_id", "entity", "start", "end", "action"
    ):
        siblings.setdefault(sibling.item_id, []).append(sibling)
    placed: dict[int, tuple[int, int]] = {}
    for item_id, item in items.items():
        placed.update(findings_in_stored_text(item.text, siblings.get(item_id, [])))
    in_context = []
    for finding in rows:
        finding.item = items[finding.item_id]
        in_context.append(_in_context(finding, placed.get(finding.pk)))
    return FindingPage(
        findings=in_context,
        items=list(items.values()),
        next_after=rows[-1].pk if rows and more_after else None,
        previous_before=rows[0].pk if rows and more_before else None,
    )


def _in_context(finding: PiiFinding, span: tuple[int, int] | None) -> FindingInContext:
    if span is None:
        return FindingInContext(finding)
    text = finding.item.text
    start, end = span
    left, right = sentence_around(text, start, end)
    segments = text_marked(text[left:right], [(start - left, end - left, finding.entity)])
    return FindingInContext(finding, segments, cut_before=left > 0, cut_after=right < len(text))


@dataclass(frozen=True)
class DuplicatePair:
    """The keeper and one item linked to it, each cut into segments with the differences marked."""

    item: Item
    keeper_segments: list[Segment]
    item_segments: list[Segment]


@dataclass(frozen=True)
class DuplicateGroup:
    keeper: Item
    pairs: list[DuplicatePair]
    size: int  # linked items in all, shown or not

    @property
    def hidden(self) -> int:
        return self.size - len(self.pairs)


@dataclass(frozen=True)
class DuplicateGroupPage:
    groups: list[DuplicateGroup]
    items: list[Item]
    next_after: int | None
    previous_before: int | None


def duplicate_group_page(
    *,
    project: Project,
    after: int | None = None,
    before: int | None = None,
    size: int = GROUPS_PAGE_SIZE,
    shown: int = GROUP_ITEMS_SHOWN,
) -> DuplicateGroupPage:
    """One page of near-duplicate groups in keeper order: each keeper beside its first linked items.

    Paged by keeper id (the duplicate_of index), so no page walks the groups before it.
    """
    project_readable_check(project=project)
    linked = Item.objects.filter(project=project, duplicate_of__isnull=False)
    keepers = linked.values_list("duplicate_of_id", flat=True).distinct()
    if before is not None:
        keeper_ids = list(
            keepers.filter(duplicate_of_id__lt=before).order_by("-duplicate_of_id")[: size + 1]
        )
        more_before, keeper_ids = len(keeper_ids) > size, keeper_ids[:size][::-1]
        more_after = True
    else:
        if after is not None:
            keepers = keepers.filter(duplicate_of_id__gt=after)
        keeper_ids = list(keepers.order_by("duplicate_of_id")[: size + 1])
        more_after, keeper_ids = len(keeper_ids) > size, keeper_ids[:size]
        more_before = after is not None
    sizes = dict(
        linked.filter(duplicate_of_id__in=keeper_ids)
        .values_list("duplicate_of_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    first_linked = (
        linked.filter(duplicate_of_id__in=keeper_ids)
        .annotate(
            rank=Window(RowNumber(), partition_by=F("duplicate_of_id"), order_by=F("id").asc())
        )
        .filter(rank__lte=shown)
        .only("external_id", "duplicate_of_id", *Item.TEXT_FIELDS)
        .order_by("duplicate_of_id", "id")
    )
    members: dict[int, list[Item]] = {}
    for item in first_linked:
        members.setdefault(item.duplicate_of_id, []).append(item)
    keepers_by_id = Item.objects.only("external_id", *Item.TEXT_FIELDS).in_bulk(keeper_ids)
    groups, shown_items = [], []
    for keeper_id in keeper_ids:
        keeper = keepers_by_id[keeper_id]
        pairs = []
        for item in members.get(keeper_id, []):
            keeper_segments, item_segments = text_diff(keeper.text, item.text)
            pairs.append(DuplicatePair(item, keeper_segments, item_segments))
        groups.append(DuplicateGroup(keeper, pairs, sizes.get(keeper_id, 0)))
        shown_items += [keeper, *(pair.item for pair in pairs)]
    return DuplicateGroupPage(
        groups=groups,
        items=shown_items,
        next_after=keeper_ids[-1] if keeper_ids and more_after else None,
        previous_before=keeper_ids[0] if keeper_ids and more_before else None,
    )


def neardup_jobs_active(*, project: Project) -> QuerySet[NearDupJob]:
    """The project's near-duplicate passes still queued or running, oldest first: until they end,
    the groups of their imports' items are not all on the duplicates page yet."""
    return NearDupJob.objects.filter(project=project, status__in=ACTIVE_STATUSES).order_by("id")
