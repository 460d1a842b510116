"""Geometry of the server-drawn learning curve: accuracy on the control slice against labels so far.

Drawn like the other charts (training/views/charts.py): presentation attributes only, no
inline styles, so the strict CSP holds. Points where an activated model ranked the queue are
marked, with a line where each model version's first point is.
"""

from annotation.views.quality import percent_text
from training.selectors.active import active_learning_overview
from training.views.charts import LEFT, PLOT_HEIGHT, TOP

PLOT_WIDTH = 520
BOTTOM = 40
RIGHT = 16
LINE = "#4c78a8"
MODEL_MARK = "#f58518"


def _nice_top(value: int) -> int:
    """The x axis end: the labels count rounded up to 1, 2 or 5 times a power of ten."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def learning_curve_chart(points: list[dict]) -> dict | None:
    """Polyline geometry from learning-curve points ({labels, accuracy, control_labels, model_version}).

    Points without an accuracy (no labelled control item yet) are left out of the line; None
    when no point has one.
    """
    measured = [point for point in points if point.get("accuracy") is not None]
    if not measured:
        return None
    x_end = _nice_top(max(max(point["labels"] for point in measured), 1))

    def x_of(labels: int) -> float:
        return round(LEFT + PLOT_WIDTH * labels / x_end, 1)

    def y_of(accuracy: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - max(0.0, min(1.0, accuracy))), 1)

    dots, versions = [], []
    for point in measured:
        version = point.get("model_version") or ""
        dots.append(
            {
                "x": x_of(point["labels"]),
                "y": y_of(point["accuracy"]),
                "model": bool(version),
                "fill": MODEL_MARK if version else LINE,
                "title": f"{point['labels']} labels, {point.get('control_labels', 0)} control: "
                f"{point['accuracy']:.3f}" + (f" ({version})" if version else ""),
            }
        )
        if version and point.get("activated"):
            versions.append({"name": version, "x": x_of(point["labels"])})
    bottom = TOP + PLOT_HEIGHT
    return {
        "width": LEFT + PLOT_WIDTH + RIGHT,
        "height": bottom + BOTTOM,
        "line": " ".join(f"{dot['x']},{dot['y']}" for dot in dots),
        "stroke": LINE,
        "dots": dots,
        "versions": versions,
        "model_fill": MODEL_MARK,
        "left": LEFT,
        "right": LEFT + PLOT_WIDTH,
        "top": TOP,
        "bottom": bottom,
        "y_ticks": [{"value": f"{tick:.1f}", "y": y_of(tick)} for tick in (0.0, 0.5, 1.0)],
        "x_ticks": [{"value": value, "x": x_of(value)} for value in (0, x_end // 2, x_end)],
        "axis_label_y": bottom + 32,
        "axis_label_x": LEFT + PLOT_WIDTH // 2,
    }


def active_learning_panel(*, project) -> dict:
    """What the Active learning page and the project page show: the overview and its chart."""
    overview = active_learning_overview(project=project)
    return {
        **overview,
        "chart": learning_curve_chart(overview["curve"]),
        "issue_rate": percent_text(overview["state"].label_issue_rate),
    }
