"""Training's panels on annotation's project and quality pages, registered in TrainingConfig.ready()."""

from annotation.hooks import Panel, panel_register
from governance.keyring import project_shredded
from governance.roles import Perm
from training.selectors.active import label_check_summary
from training.selectors.preannotation import preannotation_job_latest
from training.views.learning_curve import active_learning_panel


def learning_curve_panel(*, project, perms) -> dict | None:
    if Perm.VIEW_QUALITY not in perms or project_shredded(project=project):
        return None
    return {"active_learning": active_learning_panel(project=project)}


def preannotation_panel(*, project, perms) -> dict | None:
    if Perm.RUN_PREANNOTATION not in perms:
        return None
    return {"project": project, "job": preannotation_job_latest(project=project)}


def label_check_panel(*, project, perms) -> dict:
    return {
        "project": project,
        "label_check": label_check_summary(project=project),
        "can_review_issues": Perm.REVIEW in perms,
    }


def panels_register() -> None:
    panel_register(
        Panel.PROJECT_MAIN,
        template="training/partials/_project_learning_curve.html",
        context=learning_curve_panel,
    )
    panel_register(
        Panel.PROJECT_SIDE,
        template="training/partials/_project_preannotation.html",
        context=preannotation_panel,
    )
    panel_register(
        Panel.QUALITY,
        template="training/partials/_label_check_rate.html",
        context=label_check_panel,
    )
