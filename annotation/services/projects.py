"""Creating and changing projects and their labels."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from annotation.hooks import Hook, hook_run
from annotation.models import FinalSource, Item, Label
from governance.audit import AuditAction, audit_record
from governance.keyring import project_key_create
from governance.roles import ProjectRole
from governance.services.membership import membership_set
from projects.models import Project, TaskType

_PROJECT_FIELDS = (
    "name",
    "description",
    "guidelines",
    "task_type",
    "overlap",
    "allow_overlapping_spans",
    "review_policy",
    "gold_rate",
)
_LABEL_FIELDS = ("name", "color", "hotkey", "description", "order")


# Keys the labelling and review pages use for themselves: a label's key must never shadow them
# (a accept, c comment, r reject on review, s skip, x reject suggestion, z undo, / label filter,
# ? help). The page matches letters either case, so both cases are taken.
RESERVED_HOTKEYS = frozenset("acrsxzACRSXZ/? ")
# The keys given to labels that come without one, in this order: 1-9, 0, then the free letters.
# Labels beyond these 30 are reached with the label filter (/ then type).
HOTKEY_SEQUENCE = "1234567890" + "".join(
    letter for letter in "abcdefghijklmnopqrstuvwxyz" if letter not in RESERVED_HOTKEYS
)


def hotkey_check(hotkey: str, *, where: str = "hotkey") -> None:
    """Refuse a key the pages keep for a shortcut of their own."""
    if hotkey and hotkey in RESERVED_HOTKEYS:
        raise ValidationError(
            {where: f"'{hotkey}' is a shortcut of the labelling page; choose another key (for example a digit)."}
        )


def hotkeys_next(*, taken, count: int) -> list[str]:
    """The next ``count`` free keys of HOTKEY_SEQUENCE, skipping ``taken`` (either case); "" once none is left."""
    taken_lower = {key.lower() for key in taken if key}
    free = [key for key in HOTKEY_SEQUENCE if key not in taken_lower]
    return (free + [""] * count)[:count]


def _validate_label_specs(specs: list[dict]) -> None:
    names = [spec.get("name", "").strip() for spec in specs]
    for index, name in enumerate(names):
        if not name:
            raise ValidationError({"labels": f"label {index + 1} has no name."})
    if len(set(names)) != len(names):
        raise ValidationError({"labels": "label names must be unique within a project."})
    hotkeys = [spec.get("hotkey", "") for spec in specs if spec.get("hotkey")]
    if len(set(hotkeys)) != len(hotkeys):
        raise ValidationError({"labels": "two labels share a hotkey."})
    for hotkey in hotkeys:
        hotkey_check(hotkey, where="labels")


@transaction.atomic
def project_create(
    *,
    actor,
    name: str,
    task_type: str = TaskType.SINGLE_LABEL,
    description: str = "",
    guidelines: str = "",
    labels: list[dict] | None = None,
    overlap: int = 1,
) -> Project:
    """Create a project, make ``actor`` its manager and add its labels (keys 1-9, 0, then free letters)."""
    if task_type not in TaskType.values:
        raise ValidationError({"task_type": f"Unknown task type '{task_type}'."})
    labels = labels or []
    _validate_label_specs(labels)
    project = Project(
        name=name.strip(),
        task_type=task_type,
        description=description,
        guidelines=guidelines,
        overlap=overlap,
        created_by=actor,
    )
    project.full_clean()
    project.save()
    project_key_create(project_id=project.pk)
    membership_set(actor=actor, project=project, user=actor, role=ProjectRole.MANAGER)
    # Labels without a key get the next free one; keys given explicitly are never handed out twice.
    defaults = iter(hotkeys_next(taken=[spec.get("hotkey", "") for spec in labels], count=len(labels)))
    for index, spec in enumerate(labels):
        hotkey = spec.get("hotkey") or next(defaults)
        _label_insert(project, {**spec, "order": index, "hotkey": hotkey})
    hook_run(Hook.PROJECT_CREATED, project=project)
    audit_record(
        actor=actor,
        action=AuditAction.PROJECT_CREATE,
        project=project,
        target=project,
        details={"name": project.name, "task_type": task_type, "labels": [spec["name"] for spec in labels]},
    )
    return project


@transaction.atomic
def project_update(*, actor, project: Project, **changes) -> Project:
    unknown = set(changes) - set(_PROJECT_FIELDS)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} of a project.")
    if "task_type" in changes and changes["task_type"] != project.task_type and project.annotations.exists():
        raise ValidationError({"task_type": "The task type cannot change once items have annotations."})
    before = (project.overlap, project.review_policy)
    for field_name, value in changes.items():
        setattr(project, field_name, value)
    project.full_clean()
    project.save()
    if (project.overlap, project.review_policy) != before:
        _items_resettle(project)
    audit_record(actor=actor, action=AuditAction.PROJECT_UPDATE, project=project, target=project, details={"fields": sorted(changes)})
    return project


def _items_resettle(project: Project) -> None:
    """After the overlap or review policy changed: which items are done, and which are final by agreement."""
    from annotation.services.annotations import item_settle

    items = Item.objects.filter(project=project, is_gold=False)
    items.filter(annotation_count__gte=project.overlap).update(is_done=True)
    # Items a reviewer decided stay closed whatever the overlap.
    items.filter(annotation_count__lt=project.overlap).exclude(final__source=FinalSource.REVIEW).update(is_done=False)
    touched = items.filter(Q(is_done=True, final__isnull=True) | Q(final__source=FinalSource.AGREEMENT))
    for item_id in list(touched.values_list("id", flat=True)):
        item_settle(item=Item.objects.select_for_update(of=("self",)).select_related("project").get(pk=item_id))


def label_hotkey_free(*, project: Project) -> str:
    """The first key of HOTKEY_SEQUENCE no label of ``project`` has; "" when all are taken."""
    return hotkeys_next(taken=project.labels.values_list("hotkey", flat=True), count=1)[0]


def _label_insert(project: Project, spec: dict) -> Label:
    unknown = set(spec) - set(_LABEL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown label field(s): {', '.join(sorted(unknown))}.")
    hotkey_check(spec.get("hotkey", ""))
    label = Label(project=project, **spec)
    label.name = label.name.strip()
    label.full_clean()
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ValidationError({"name": f"A label named '{label.name}' or with hotkey '{label.hotkey}' exists."}) from None
    return label


@transaction.atomic
def label_create(*, actor, project: Project, **spec) -> Label:
    if "order" not in spec:
        spec["order"] = project.labels.count()
    if not spec.get("hotkey"):
        spec["hotkey"] = label_hotkey_free(project=project)
    label = _label_insert(project, spec)
    audit_record(actor=actor, action=AuditAction.LABEL_CREATE, project=project, target=label, details={"name": label.name})
    return label


@transaction.atomic
def label_update(*, actor, label: Label, **changes) -> Label:
    unknown = set(changes) - set(_LABEL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown label field(s): {', '.join(sorted(unknown))}.")
    if "hotkey" in changes and changes["hotkey"] != label.hotkey:
        # Checked only when it changes: a label keeping an older key can still be edited otherwise.
        hotkey_check(changes["hotkey"])
    if "name" in changes and changes["name"] != label.name and label.project.annotations.exists():
        # Annotation values refer to labels by name; renaming would orphan them.
        raise ValidationError({"name": "A label cannot be renamed once the project has annotations."})
    for field_name, value in changes.items():
        setattr(label, field_name, value)
    label.full_clean()
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ValidationError({"name": "Another label already has this name or hotkey."}) from None
    audit_record(actor=actor, action=AuditAction.LABEL_UPDATE, project=label.project, target=label, details={"fields": sorted(changes)})
    return label


@transaction.atomic
def label_delete(*, actor, label: Label) -> None:
    project = label.project
    if project.annotations.exists():
        # Annotation values refer to labels by name; deleting one would leave them dangling.
        raise ValidationError({"label": f"'{label.name}' cannot be deleted once the project has annotations."})
    audit_record(actor=actor, action=AuditAction.LABEL_DELETE, project=project, target=label, details={"name": label.name})
    label.delete()
