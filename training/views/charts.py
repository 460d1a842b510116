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


def score_bars(rows: list[dict]) -> dict | None:
    """Three bars (precision, recall, F1) per label, on a 0..1 axis; None when there is no label."""
    labels = [row for row in rows if not row["summary"]]
    if not labels:
        return None
    group = BAR * len(SERIES) + GAP
    width = LEFT + group * len(labels) + GAP
    bars, names = [], []
    for index, row in enumerate(labels):
        x0 = LEFT + GAP + index * group
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
        "height": TOP + PLOT_HEIGHT + BOTTOM,
        "bars": bars,
        "names": names,
        "ticks": ticks,
        "left": LEFT,
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
    left = TOP + 10 + max((len(name) for name in labels), default=4) * 7
    top = left
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
    axis = [{"name": name, "at": left + index * CELL + CELL // 2} for index, name in enumerate(labels)]
    return {
        "width": left + CELL * len(labels) + 8,
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
