"""Seed keywords per label: the words that put matching items first while active learning has no model yet."""

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import Label
from governance.audit import AuditAction, audit_record
from projects.models import Project
from training.services.active_learning import active_learning_refresh_request

MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 60


def keywords_parse(value: str | Sequence[str], *, label: str) -> list[str]:
    """Comma-separated text (or a list) as clean keywords: trimmed, no empties, no case-insensitive repeats."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    words, seen = [], set()
    for part in parts:
        if not isinstance(part, str):
            raise ValidationError({"keywords": f"{label}: keywords must be text; got {part!r}."})
        word = " ".join(part.split())
        if not word or word.casefold() in seen:
            continue
        if len(word) > MAX_KEYWORD_CHARS:
            raise ValidationError(
                {"keywords": f"{label}: '{word[:20]}…' is longer than {MAX_KEYWORD_CHARS} characters."}
            )
        seen.add(word.casefold())
        words.append(word)
    if len(words) > MAX_KEYWORDS:
        raise ValidationError({"keywords": f"{label}: {len(words)} keywords; the limit is {MAX_KEYWORDS}."})
    return words


def keywords_of(label: Label) -> list[str]:
    return [word.strip() for word in label.keywords.split(",") if word.strip()]


@transaction.atomic
def label_keywords_set(*, actor, project: Project, keywords: Mapping[str, str | Sequence[str]]) -> list[Label]:
    """Replace the seed keywords of the named labels; returns the labels that changed. Audited."""
    labels = {label.name: label for label in project.labels.select_for_update()}
    unknown = sorted(set(keywords) - set(labels))
    if unknown:
        raise ValidationError({"keywords": f"not labels of this project: {', '.join(unknown)}."})
    changed = []
    for name, value in keywords.items():
        text = ", ".join(keywords_parse(value, label=name))
        label = labels[name]
        if text != label.keywords:
            label.keywords = text
            label.save(update_fields=["keywords"])
            changed.append(label)
    if changed:
        audit_record(
            actor=actor,
            action=AuditAction.LABEL_KEYWORDS,
            project=project,
            details={"labels": {label.name: len(keywords_of(label)) for label in changed}},
        )
        # While there is no model, the keywords decide the order: re-rank with the new ones.
        active_learning_refresh_request(project=project, force=True)
    return changed
