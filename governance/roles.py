"""The role table: which object permissions each project role carries."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.permissions import PROJECT_PERMISSIONS, Perm  # noqa: F401 (re-exported: the role table's vocabulary)


class ProjectRole(models.TextChoices):
    MANAGER = "manager", _("Manager")
    REVIEWER = "reviewer", _("Reviewer")
    ANNOTATOR = "annotator", _("Annotator")
    ML_ENGINEER = "ml_engineer", _("ML engineer")


class GlobalRole(models.TextChoices):
    """Roles that span every project. Admins are Django superusers; auditors belong to the group "auditor"."""

    ADMIN = "admin", _("Administrator")
    AUDITOR = "auditor", _("Auditor")


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    ProjectRole.MANAGER: frozenset(
        {
            Perm.VIEW_PROJECT,
            Perm.CHANGE_PROJECT,
            Perm.MANAGE_MEMBERS,
            Perm.IMPORT_ITEMS,
            Perm.BROWSE_ITEMS,
            Perm.ANNOTATE,
            Perm.VIEW_ANNOTATIONS,
            Perm.EXPORT_DATA,
            Perm.RUN_PREANNOTATION,
            Perm.VIEW_PREDICTIONS,
            Perm.REVIEW,
            Perm.VIEW_QUALITY,
            Perm.CURATE_DATASETS,
            Perm.TRAIN_MODELS,
        }
    ),
    ProjectRole.REVIEWER: frozenset(
        {
            Perm.VIEW_PROJECT,
            Perm.BROWSE_ITEMS,
            Perm.ANNOTATE,
            Perm.VIEW_ANNOTATIONS,
            Perm.VIEW_PREDICTIONS,
            Perm.REVIEW,
            Perm.VIEW_QUALITY,
        }
    ),
    ProjectRole.ANNOTATOR: frozenset({Perm.VIEW_PROJECT, Perm.ANNOTATE, Perm.VIEW_PREDICTIONS}),
    ProjectRole.ML_ENGINEER: frozenset(
        {
            Perm.VIEW_PROJECT,
            Perm.BROWSE_ITEMS,
            Perm.VIEW_ANNOTATIONS,
            Perm.EXPORT_DATA,
            Perm.RUN_PREANNOTATION,
            Perm.VIEW_PREDICTIONS,
            Perm.VIEW_QUALITY,
            Perm.CURATE_DATASETS,
            Perm.TRAIN_MODELS,
        }
    ),
}

# A project's Jobs page (see and cancel its background work): the roles that start such work there,
# managers and ML engineers, who hold run_preannotation.
JOBS_PERM = Perm.RUN_PREANNOTATION
