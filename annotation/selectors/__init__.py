"""Reads of annotation data; callers have already passed the permission gate for the project."""

from annotation.selectors.answers import (
    ReviewDetails,
    ReviewProgress,
    SpanChoice,
    annotation_list,
    annotation_own,
    annotation_previous,
    final_list,
    item_review_context,
    review_progress,
)
from annotation.selectors.browser import (
    COUNT_CAP,
    PAGE_SIZE,
    PAGE_SIZE_MAX,
    Agreement,
    CappedCount,
    DuplicateRole,
    ItemFilters,
    ItemState,
    item_browse,
    item_browse_count,
    item_browse_ids,
)
from annotation.selectors.browser_page import BrowserPage, BrowserRow, item_browse_page
from annotation.selectors.exports import EXPORT_CHUNK, export_records
from annotation.selectors.items import (
    item_find_by_text,
    item_for_reader,
    item_list,
    item_suggestion,
    prediction_latest,
    prediction_list,
)
from annotation.selectors.projects import (
    PROGRESS_MAX_AGE_S,
    Progress,
    project_list,
    project_progress,
)
from annotation.selectors.search import item_ids_matching_words, items_matching_text

__all__ = [
    "COUNT_CAP",
    "PAGE_SIZE",
    "PAGE_SIZE_MAX",
    "Agreement",
    "BrowserPage",
    "BrowserRow",
    "CappedCount",
    "DuplicateRole",
    "ItemFilters",
    "ItemState",
    "item_browse",
    "item_browse_count",
    "item_browse_ids",
    "item_browse_page",
    "EXPORT_CHUNK",
    "PROGRESS_MAX_AGE_S",
    "Progress",
    "ReviewDetails",
    "ReviewProgress",
    "SpanChoice",
    "annotation_list",
    "annotation_own",
    "annotation_previous",
    "export_records",
    "final_list",
    "item_find_by_text",
    "item_for_reader",
    "item_ids_matching_words",
    "item_list",
    "item_review_context",
    "item_suggestion",
    "items_matching_text",
    "prediction_latest",
    "prediction_list",
    "project_list",
    "project_progress",
    "review_progress",
]
