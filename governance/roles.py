"""The role table: which object permissions each project role carries."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProjectRole(models.TextChoices):
    MANAGER = "manager", _("Manager")
    REVIEWER = "reviewer", _("Reviewer")
    ANNOTATOR = "annotator", _("Annotator")
    ML_ENGINEER = "ml_engineer", _("ML engineer")


class GlobalRole(models.TextChoices):
    """Roles that span every project. Admins are Django superusers; auditors belong to the group "auditor"."""

    ADMIN = "admin", _("Administrator")
    AUDITOR = "auditor", _("Auditor")


class Perm:
    """Object-permission codenames on annotation.Project."""

    VIEW_PROJECT = "view_project"
    CHANGE_PROJECT = "change_project"
    MANAGE_MEMBERS = "manage_members"
    IMPORT_ITEMS = "import_items"
    BROWSE_ITEMS = "browse_items"
    ANNOTATE = "annotate"
    VIEW_ANNOTATIONS = "view_annotations"
    EXPORT_DATA = "export_data"
    RUN_PREANNOTATION = "run_preannotation"
    VIEW_PREDICTIONS = "view_predictions"
    REVIEW = "review_annotations"
    VIEW_QUALITY = "view_quality"
    CURATE_DATASETS = "curate_datasets"
    TRAIN_MODELS = "train_models"


# Meta.permissions of annotation.Project; view_project and change_project are Django's defaults.
PROJECT_PERMISSIONS = [
    (Perm.MANAGE_MEMBERS, "Add and remove members and change their roles"),
    (Perm.IMPORT_ITEMS, "Import items"),
    (Perm.BROWSE_ITEMS, "Browse all items of the project"),
    (Perm.ANNOTATE, "Label items from the queue"),
    (Perm.VIEW_ANNOTATIONS, "See every annotator's annotations"),
    (Perm.EXPORT_DATA, "Export annotations"),
    (Perm.RUN_PREANNOTATION, "Start model pre-annotation"),
    (Perm.VIEW_PREDICTIONS, "See model predictions"),
    (Perm.REVIEW, "Review annotations and settle disagreements"),
    (Perm.VIEW_QUALITY, "See agreement and quality figures"),
    (Perm.CURATE_DATASETS, "Freeze and export dataset versions"),
    (Perm.TRAIN_MODELS, "Train, compare and activate models"),
]

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
