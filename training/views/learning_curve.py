"""The learning curve: accuracy on the control slice against labels so far, drawn by common.charts.

Points where an activated model ranked the queue are marked, with a line where each model
version's first point is.
"""

from django.utils.translation import gettext as _

from annotation.views.quality import percent_text
from common.charts import line_chart_svg
from training.selectors.active import active_learning_overview

LINE = "#4c78a8"
MODEL_MARK = "#f58518"


def learning_curve_chart(points: list[dict]):
    """The chart of learning-curve points ({labels, accuracy, control_labels, model_version}).

    Points without an accuracy (no labelled control item yet) are left out of the line; None
    when no point has one.
    """
    measured = [point for point in points if point.get("accuracy") is not None]
    if not measured:
        return None
    dots, marks = [], []
    for point in measured:
        version = point.get("model_version") or ""
        dots.append(
            {
                "x": point["labels"],
                "y": point["accuracy"],
                "marked": bool(version),
                "title": f"{point['labels']} labels, {point.get('control_labels', 0)} control: "
                f"{point['accuracy']:.3f}" + (f" ({version})" if version else ""),
            }
        )
        if version and point.get("activated"):
            marks.append({"name": version, "x": point["labels"]})
    return line_chart_svg(
        dots,
        marks,
        element_id="learning-curve-chart",
        title=_("Accuracy on the random control slice against the number of labels"),
        x_label=_("labels"),
        line=LINE,
        marked=MODEL_MARK,
    )


def active_learning_panel(*, project) -> dict:
    """What the Active learning page and the project page show: the overview and its chart."""
    overview = active_learning_overview(project=project)
    return {
        **overview,
        "chart": learning_curve_chart(overview["curve"]),
        "issue_rate": percent_text(overview["state"].label_issue_rate),
    }
