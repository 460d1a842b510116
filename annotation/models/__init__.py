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

__all__ = [
    "Annotation",
    "AnnotationStatus",
    "DataSource",
    "ExportRecord",
    "ExportStatus",
    "FinalAnnotation",
    "FinalSource",
    "ImportJob",
    "ImportOnError",
    "ImportQuoting",
    "Item",
    "ItemLock",
    "Label",
    "LockPurpose",
    "NearDupBucket",
    "NearDupState",
    "PiiFinding",
    "PiiFindingStatus",
    "Prediction",
    "Review",
    "ReviewDecision",
    "SuggestionOutcome",
]
