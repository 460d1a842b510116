"""Annotation's tables, one module per concept; importing them here registers them with the app."""

from annotation.models.answers import (
    Annotation,
    AnnotationStatus,
    FinalAnnotation,
    FinalSource,
    Prediction,
    Review,
    ReviewDecision,
    SuggestionOutcome,
)
from annotation.models.bulk import BulkActionName, ItemBulkJob
from annotation.models.exports import (
    ExportRecord,
    ExportStatus,
)
from annotation.models.imports import (
    DataSource,
    ImportJob,
    ImportOnError,
    ImportQuoting,
    NearDupBucket,
    NearDupJob,
    NearDupState,
    PiiFinding,
    PiiFindingStatus,
)
from annotation.models.items import (
    Item,
    ItemLock,
    Label,
    LockPurpose,
)
from annotation.models.search import ItemWord

__all__ = [
    "Annotation",
    "AnnotationStatus",
    "BulkActionName",
    "DataSource",
    "ExportRecord",
    "ExportStatus",
    "FinalAnnotation",
    "FinalSource",
    "ImportJob",
    "ImportOnError",
    "ImportQuoting",
    "Item",
    "ItemBulkJob",
    "ItemLock",
    "ItemWord",
    "Label",
    "LockPurpose",
    "NearDupBucket",
    "NearDupJob",
    "NearDupState",
    "PiiFinding",
    "PiiFindingStatus",
    "Prediction",
    "Review",
    "ReviewDecision",
    "SuggestionOutcome",
]
