"""Training's tables, one module per concept; importing them here registers them with the app.

Background ML jobs keep their state in these tables so that the web app never waits on a worker.
"""

from training.models.active import (
    ActiveLearning,
    ActiveLearningRefresh,
    ItemEmbedding,
    LabelCheck,
    LabelIssue,
    LabelIssueStatus,
    LearningCurvePoint,
    Strategy,
)
from training.models.datasets import (
    ConflictPolicy,
    DatasetBuildStatus,
    DatasetStatus,
    DatasetVersion,
    DatasetVersionItem,
    Split,
)
from training.models.preannotation import PreannotationJob
from training.models.training import BaseModel, ModelVersion, TrainingJob

__all__ = [
    "ActiveLearning",
    "ActiveLearningRefresh",
    "BaseModel",
    "ConflictPolicy",
    "DatasetBuildStatus",
    "DatasetStatus",
    "DatasetVersion",
    "DatasetVersionItem",
    "ItemEmbedding",
    "LabelCheck",
    "LabelIssue",
    "LabelIssueStatus",
    "LearningCurvePoint",
    "ModelVersion",
    "PreannotationJob",
    "Split",
    "Strategy",
    "TrainingJob",
]
