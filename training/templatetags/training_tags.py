"""Template filters for training pages and links: what a user may do, and how to show scores."""

from django import template

from governance.access import has_project_perm
from governance.roles import Perm

register = template.Library()


@register.filter
def can_train(user, project) -> bool:
    """Whether to show the Models link; the pages themselves check again through access_project."""
    return has_project_perm(user=user, project=project, perm=Perm.TRAIN_MODELS)


@register.filter
def score(value) -> str:
    """A 0..1 score with three decimals, or a dash when there is none."""
    if value is None or value == "":
        return "–"
    return f"{float(value):.3f}"


@register.filter
def signed(value) -> str:
    """A change in score with its sign (+0.012, -0.030), or a dash."""
    if value is None:
        return "–"
    return f"{float(value):+.3f}"


@register.filter
def duration(seconds) -> str:
    """Seconds as 42 s, 3 min 5 s or 2 h 10 min."""
    if seconds is None or seconds == "":
        return "–"
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
