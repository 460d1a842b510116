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


@register.filter
def version_headline(model_version) -> dict:
    """A version's score with its interval, n, basis and flags (``selectors.training.version_headline``)."""
    from training.selectors.training import version_headline as headline

    return headline(model_version)


@register.filter
def metric_label(metric) -> str:
    """A stored metric name as people read it: macro_f1 -> macro-F1."""
    from training.selectors.training import metric_name

    return metric_name(metric)


@register.filter
def verdict_label(verdict) -> str:
    """A paired comparison's verdict as a phrase: better / worse with confidence, or no clear difference."""
    from django.utils.translation import gettext

    return {
        "better": gettext("better with confidence"),
        "worse": gettext("worse with confidence"),
        "no_clear_difference": gettext("no clear difference"),
    }.get(verdict, verdict or "")
