"""Geometry of the server-drawn SVG charts: per-label score bars and the confusion-matrix heatmap.

Colours travel as SVG ``fill`` attributes, never as inline styles, so the strict CSP holds.
"""

SERIES = (("precision", "#4c78a8"), ("recall", "#f58518"), ("f1", "#54a24b"))
BAR = 14
GAP = 18
PLOT_HEIGHT = 160
TOP, LEFT, BOTTOM = 12, 36, 70
CELL = 44
HEAT_LOW, HEAT_HIGH = (255, 255, 255), (30, 90, 170)
# A generous width of one character of a 12 px chart label (DejaVu Sans, the widest usual system-ui
# fallback, averages about 7 px): room sized with it never cuts a label name at the chart's edge.
NAME_PX = 7.5
SIN_35, COS_35, SIN_45 = 0.574, 0.819, 0.707


def _name_width(names) -> float:
    return NAME_PX * max((len(name) for name in names), default=4)


def score_bars(rows: list[dict]) -> dict | None:
    """Three bars (precision, recall, F1) per label, on a 0..1 axis; None when there is no label."""
    labels = [row for row in rows if not row["summary"]]
    if not labels:
        return None
    group = BAR * len(SERIES) + GAP
    # The names lean left at 35 degrees from under their bars: below the plot they need sin 35 of
    # their length, and left of the first bar cos 35 of it, which pushes the plot right.
    longest = _name_width(row["label"] for row in labels)
    shift = max(0, round(COS_35 * longest - (GAP + BAR * len(SERIES) / 2)) + 4)
    width = LEFT + shift + group * len(labels) + GAP
    bars, names = [], []
    for index, row in enumerate(labels):
        x0 = LEFT + shift + GAP + index * group
        for offset, (key, colour) in enumerate(SERIES):
            value = max(0.0, min(1.0, float(row[key])))
            height = round(value * PLOT_HEIGHT, 1)
            bars.append(
                {
                    "x": x0 + offset * BAR,
                    "y": round(TOP + PLOT_HEIGHT - height, 1),
                    "width": BAR - 2,
                    "height": height,
                    "fill": colour,
                    "title": f"{row['label']} {key}: {value:.3f}",
                }
            )
        names.append({"name": row["label"], "x": x0 + BAR * len(SERIES) / 2, "y": TOP + PLOT_HEIGHT + 14})
    ticks = [{"value": f"{tick:.1f}", "y": round(TOP + PLOT_HEIGHT - tick * PLOT_HEIGHT, 1)} for tick in (0, 0.5, 1.0)]
    return {
        "width": width,
        "height": TOP + PLOT_HEIGHT + max(BOTTOM, round(14 + SIN_35 * longest + 12)),
        "bars": bars,
        "names": names,
        "ticks": ticks,
        "left": LEFT + shift,
        "right": width,
        "legend": [{"name": key, "fill": colour} for key, colour in SERIES],
    }


def _blend(share: float) -> str:
    channels = (round(low + (high - low) * share) for low, high in zip(HEAT_LOW, HEAT_HIGH))
    return "#" + "".join(f"{channel:02x}" for channel in channels)


def confusion_heatmap(confusion: dict | None) -> dict | None:
    """A single-label confusion matrix (rows: gold, columns: predicted), shaded by share of each gold row."""
    if not confusion or "matrix" not in confusion:
        return None
    labels, matrix = confusion["labels"], confusion["matrix"]
    # Row names sit left of the cells; column names lean right at 45 degrees above them, so the
    # top holds sin 45 of the longest and the last one needs as much room right of the cells.
    left = TOP + 10 + round(_name_width(labels))
    top = TOP + 10 + round(SIN_45 * _name_width(labels))
    cells = []
    for row_index, row in enumerate(matrix):
        total = sum(row) or 1
        for column_index, count in enumerate(row):
            share = count / total
            cells.append(
                {
                    "x": left + column_index * CELL,
                    "y": top + row_index * CELL,
                    "fill": _blend(share),
                    "ink": "#ffffff" if share > 0.55 else "#1f2937",
                    "text": count,
                    "title": f"{labels[row_index]} → {labels[column_index]}: {count}",
                    "diagonal": row_index == column_index,
                }
            )
    # Each name labels a row (at y) and a column (at x).
    axis = [
        {"name": name, "x": left + index * CELL + CELL // 2, "y": top + index * CELL + CELL // 2}
        for index, name in enumerate(labels)
    ]
    return {
        "width": left + CELL * len(labels) + max(8, top - CELL // 2),
        "height": top + CELL * len(labels) + 8,
        "cell": CELL,
        "half": CELL // 2,
        "left": left,
        "top": top,
        "cells": cells,
        "axis": axis,
    }


def per_label_matrices(confusion: dict | None) -> list[dict]:
    """Multi-label: one 2x2 table per label (true/false negatives and positives)."""
    if not confusion or "per_label" not in confusion:
        return []
    return [
        {"label": label, "tn": m[0][0], "fp": m[0][1], "fn": m[1][0], "tp": m[1][1]}
        for label, m in zip(confusion["labels"], confusion["per_label"])
    ]
