"""A model version's evaluation charts (per-label score bars, the confusion matrix), drawn by common.charts."""

from django.utils.translation import gettext as _

from common.charts import TOP, blend, grouped_bars, heatmap_svg, name_width

SERIES = (("precision", "#4c78a8"), ("recall", "#f58518"), ("f1", "#54a24b"))
CELL = 44
# Past this many labels the matrix drawn first holds only the labels most often confused (a
# 200-label matrix is 8,800 px square); the whole one stays one click away, in a box that scrolls.
CONFUSION_SHOWN = 15
HEAT_LOW, HEAT_HIGH = (255, 255, 255), (30, 90, 170)
SIN_45 = 0.707


def score_bars(rows: list[dict]) -> dict | None:
    """Three bars (precision, recall, F1) per label, on a 0..1 axis; None when there is no label."""
    groups = [(row["label"], [row[key] for key, _ in SERIES]) for row in rows if not row["summary"]]
    return grouped_bars(
        groups, SERIES, element_id="score-bars", title=_("Precision, recall and F1 per label")
    )


def confused_labels(confusion: dict | None, count: int = CONFUSION_SHOWN) -> list[int] | None:
    """The positions of the ``count`` labels most often confused (as truth or as prediction), in
    label order; None when the matrix has no more labels than that and is drawn whole."""
    if not confusion or "matrix" not in confusion or len(confusion["labels"]) <= count:
        return None
    matrix = confusion["matrix"]
    size = len(matrix)
    errors = [
        sum(matrix[index]) + sum(row[index] for row in matrix) - 2 * matrix[index][index]
        for index in range(size)
    ]
    ranked = sorted(range(size), key=lambda index: (-errors[index], index))[:count]
    return sorted(ranked)


def confusion_heatmap(confusion: dict | None, *, only: list[int] | None = None):
    """A single-label confusion matrix (rows: gold, columns: predicted), shaded by share of each gold
    row; ``only`` keeps those label positions (shares stay those of the whole row)."""
    if not confusion or "matrix" not in confusion:
        return None
    labels, matrix = confusion["labels"], confusion["matrix"]
    if only is not None:
        totals = [sum(matrix[index]) for index in only]
        labels = [labels[index] for index in only]
        matrix = [[matrix[row][column] for column in only] for row in only]
    else:
        totals = [sum(row) for row in matrix]
    # Row names sit left of the cells; column names lean right at 45 degrees above them, so the
    # top holds sin 45 of the longest and the last one needs as much room right of the cells.
    left = TOP + 10 + round(name_width(labels, empty=4))
    top = TOP + 10 + round(SIN_45 * name_width(labels, empty=4))
    cells = []
    for row_index, row in enumerate(matrix):
        total = totals[row_index] or 1
        cells.append(
            [
                {
                    "fill": blend(HEAT_LOW, HEAT_HIGH, count / total),
                    "ink": "#ffffff" if count / total > 0.55 else "#1f2937",
                    "text": count,
                    "title": f"{labels[row_index]} → {labels[column_index]}: {count}",
                    "stroke": "#1e5aaa" if row_index == column_index else "#ffffff",
                }
                for column_index, count in enumerate(row)
            ]
        )
    return heatmap_svg(
        element_id="confusion-matrix" if only is None else "confusion-matrix-most",
        title=_("Confusion matrix: rows are the true labels, columns the predicted ones"),
        names=labels,
        cells=cells,
        cell=CELL,
        left=left,
        top=top,
        width=left + CELL * len(labels) + max(8, top - CELL // 2),
        height=top + CELL * len(labels) + 8,
        shorten=False,
    )


def per_label_matrices(confusion: dict | None) -> list[dict]:
    """Multi-label: one 2x2 table per label (true/false negatives and positives)."""
    if not confusion or "per_label" not in confusion:
        return []
    return [
        {"label": label, "tn": m[0][0], "fp": m[0][1], "fn": m[1][0], "tp": m[1][1]}
        for label, m in zip(confusion["labels"], confusion["per_label"])
    ]
