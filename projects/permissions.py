"""The permission codenames a project carries; which role holds which is governance.roles' table."""


class Perm:
    """Object-permission codenames on a Project, granted per role by governance.roles."""

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


# Meta.permissions of Project; view_project and change_project are Django's defaults.
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
