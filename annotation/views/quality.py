"""The quality page: agreement, labels, annotators and suggestions, charted as server-drawn SVG."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from annotation.hooks import Panel, panels_render
from annotation.quality.report import quality_report
from common.charts import (
    blend,
    grid_svg,
    gutter,
    heatmap_svg,
    name_short,
    paired_bars_svg,
    stacked_bars_svg,
)
from governance.access import access_project, project_perms
from governance.roles import Perm
from projects.models import TaskType

MEASURE_NAMES = {
    "krippendorff_alpha": gettext_lazy("Krippendorff's alpha"),
    "fleiss_kappa": gettext_lazy("Fleiss' kappa"),
    "cohen_kappa_mean": gettext_lazy("Mean Cohen's kappa of the pairs"),
    "label_alpha_mean": gettext_lazy("Mean Krippendorff's alpha of the labels"),
    "pooled_kappa_mean": gettext_lazy("Mean pooled kappa of the pairs"),
    "span_alpha": gettext_lazy("Span alpha (Krippendorff's alpha over marked text)"),
    "span_label_alpha_mean": gettext_lazy("Mean span alpha of the labels"),
    "exact_f1_mean": gettext_lazy("Mean exact-match F1 of the pairs"),
    "partial_f1_mean": gettext_lazy("Mean overlap F1 of the pairs"),
}
BAND_READINGS = {
    "poor": gettext_lazy("poor agreement, worse than chance"),
    "slight": gettext_lazy("slight agreement"),
    "fair": gettext_lazy("fair agreement"),
    "moderate": gettext_lazy("moderate agreement"),
    "substantial": gettext_lazy("substantial agreement"),
    "almost_perfect": gettext_lazy("almost perfect agreement"),
}
PAIR_MEASURES = {
    "cohen_kappa": gettext_lazy("Cohen's kappa"),
    "pooled_kappa": gettext_lazy("Cohen's kappa over every label's present/absent decisions"),
    "exact_f1": gettext_lazy("exact-match span F1"),
}

# --- charts: geometry from the report; common.charts draws the SVG

CELL, HOUR_CELL, ROW, BAR_WIDTH = 52, 24, 26, 360
# Past this many labels the labels card charts the most used ones, lists those annotators agree on
# least, and keeps every label in a closed box that scrolls: 200 labels made a 19,000-px page.
LABELS_SHOWN = 12
OUTCOME_FILLS = (
    ("accepted", "#16a34a", gettext_lazy("accepted unchanged")),
    ("modified", "#f59e0b", gettext_lazy("changed")),
    ("rejected", "#dc2626", gettext_lazy("rejected")),
)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def percent_text(value: float | None) -> str:
    return "–" if value is None else f"{round(100 * value)} %"


def _heat(share: float | None) -> tuple[str, str]:
    """(fill, text colour) for a value: none is grey, negative amber, 0..1 from pale to deep blue."""
    if share is None:
        return "#e5e7eb", "#475569"
    if share < 0:
        return "#fbbf24", "#1f2933"
    mix = min(share, 1.0)
    return blend((241, 245, 249), (29, 78, 216), mix), "#ffffff" if mix > 0.55 else "#1f2933"


def _matrix_chart(report) -> dict | None:
    names = report.annotators
    if len(names) < 2:
        return None
    left = top = gutter(names)
    cells = []
    for first in names:
        line = []
        for second in names:
            pair = report.pair(first, second) if first != second else None
            score = pair.score if pair else None
            fill, ink = ("#cbd5e1", "#475569") if first == second else _heat(score)
            title = (
                ""
                if pair is None
                else _("%(first)s and %(second)s: %(value)s over %(items)d shared items")
                % {
                    "first": first,
                    "second": second,
                    "value": _number(score),
                    "items": pair.items,
                }
            )
            text = "" if first == second else _number(score)
            line.append(
                {"fill": fill, "ink": ink, "text": text, "title": title, "stroke": "#ffffff"}
            )
        cells.append(line)
    size = len(names) * CELL
    # The column names lean right at 45 degrees, so the last one needs about a gutter's room
    # to its right, and a gutter above the cells holds the longest (sin 45 of its length, plus air).
    svg = heatmap_svg(
        element_id="agreement-matrix",
        title=_("Agreement matrix between annotators"),
        names=names,
        cells=cells,
        cell=CELL,
        left=left,
        top=top,
        width=left + size + top,
        height=top + size + 8,
    )
    return {"svg": svg}


def _labels_chart(labels) -> dict | None:
    if not labels:
        return None
    left = gutter(label.name for label in labels)
    most = max(max(label.annotated, label.final) for label in labels) or 1
    rows = []
    for index, label in enumerate(labels):
        y = index * 2 * ROW
        rows.append(
            {
                "name": label.name,
                "short": name_short(label.name),
                "fill": label.color,
                "y": y,
                "label_y": y + ROW - 4,
                "first": label.annotated,
                "first_width": round(BAR_WIDTH * label.annotated / most),
                "first_title": _("%(name)s: %(count)s in answers")
                % {"name": label.name, "count": label.annotated},
                "second": label.final,
                "second_width": round(BAR_WIDTH * label.final / most),
                "second_title": _("%(name)s: %(count)s in final answers")
                % {"name": label.name, "count": label.final},
                "second_y": y + ROW,
            }
        )
    chart = {
        "left": left,
        "width": left + BAR_WIDTH + 60,
        "height": len(rows) * 2 * ROW,
        "rows": rows,
        "bar_height": ROW - 6,
    }
    title = _("Label distribution: answers (solid) and final answers (pale)")
    return {"svg": paired_bars_svg(element_id="label-distribution", title=title, chart=chart)}


def _throughput_chart(report) -> dict | None:
    if not report.hours:
        return None
    people = [who for who in report.per_annotator if any(who.hourly)]
    left, top = gutter(who.username for who in people), 40
    most = max(max(who.hourly) for who in people)
    columns = [
        {
            "x": left + index * HOUR_CELL + HOUR_CELL // 2,
            "label": date_format(hour, "H"),
            "title": date_format(hour, "DATETIME_FORMAT"),
        }
        for index, hour in enumerate(report.hours)
    ]
    rows, cells = [], []
    for row, who in enumerate(people):
        y = top + row * HOUR_CELL
        rows.append(
            {"name": who.username, "short": name_short(who.username), "y": y + HOUR_CELL // 2 + 4}
        )
        for index, count in enumerate(who.hourly):
            fill, _ink = _heat(count / most if count else None)
            cells.append(
                {
                    "x": left + index * HOUR_CELL,
                    "y": y,
                    "fill": fill if count else "#f1f5f9",
                    "title": _("%(name)s, %(hour)s: %(count)d submitted")
                    % {"name": who.username, "hour": columns[index]["title"], "count": count},
                }
            )
    chart = {
        "width": left + len(columns) * HOUR_CELL + 8,
        "height": top + len(people) * HOUR_CELL + 8,
        "columns": columns,
        "rows": rows,
        "cells": cells,
        "cell": HOUR_CELL - 2,
        "left": left,
    }
    title = _("Throughput per annotator per hour")
    return {
        "svg": grid_svg(element_id="throughput-chart", title=title, chart=chart),
        "first": date_format(report.hours[0], "DATETIME_FORMAT"),
        "last": date_format(report.hours[-1], "DATETIME_FORMAT"),
    }


def _suggestions_chart(report) -> dict | None:
    versions = [version for version in report.model_versions if version.shown]
    if not versions:
        return None
    names = [version.model_version or _("unknown model") for version in versions]
    left = gutter(names)
    rows = []
    for index, (version, version_name) in enumerate(zip(versions, names)):
        x, parts = left, []
        for outcome, fill, name in OUTCOME_FILLS:
            width = round(BAR_WIDTH * getattr(version, outcome) / version.shown)
            parts.append(
                {
                    "x": x,
                    "width": width,
                    "fill": fill,
                    "title": f"{name}: {getattr(version, outcome)}",
                }
            )
            x += width
        rows.append(
            {
                "name": version_name,
                "short": name_short(version_name),
                "y": index * ROW * 1.5,
                "parts": parts,
                "text": _("%(share)s accepted of %(shown)d")
                % {"share": percent_text(version.accepted_share), "shown": version.shown},
            }
        )
    chart = {
        "width": left + BAR_WIDTH + 170,
        "height": len(rows) * ROW * 1.5,
        "rows": rows,
        "left": left,
        "text_x": left + BAR_WIDTH + 8,
        "bar_height": ROW - 4,
    }
    title = _("Suggestion acceptance per model version")
    return {
        "svg": stacked_bars_svg(element_id="suggestion-chart", title=title, chart=chart),
        "legend": [{"fill": fill, "name": name} for _outcome, fill, name in OUTCOME_FILLS],
    }


def _gold_chart(report) -> dict | None:
    people = [who for who in report.per_annotator if who.gold_answered]
    if not people:
        return None
    left = gutter(who.username for who in people)
    rows = [
        {
            "name": who.username,
            "short": name_short(who.username),
            "y": index * ROW * 1.5,
            # A pale track the full width, the share of gold items answered right over it.
            "parts": [
                {"x": left, "width": BAR_WIDTH, "fill": "#f1f5f9"},
                {"x": left, "width": round(BAR_WIDTH * who.gold_accuracy), "fill": "#ca8a04"},
            ],
            "text": _("%(share)s of %(answered)d")
            % {"share": percent_text(who.gold_accuracy), "answered": who.gold_answered},
        }
        for index, who in enumerate(people)
    ]
    chart = {
        "width": left + BAR_WIDTH + 120,
        "height": len(rows) * ROW * 1.5,
        "rows": rows,
        "left": left,
        "text_x": left + BAR_WIDTH + 8,
        "bar_height": ROW - 4,
    }
    title = _("Accuracy on gold items per annotator")
    return {"svg": stacked_bars_svg(element_id="gold-chart", title=title, chart=chart)}


def _measure_rows(report) -> list[dict]:
    rows = []
    for measure in report.measures:
        if measure.value is None:
            reading = _("not enough data")
        elif measure.band:
            reading = BAND_READINGS[measure.band]
        else:
            reading = _("share of matching spans; not corrected for chance")
        rows.append(
            {
                "key": measure.key,
                "name": MEASURE_NAMES[measure.key],
                "value": _number(measure.value),
                "reading": reading,
                "band": measure.band or "none",
            }
        )
    return rows


def _label_card(report) -> dict:
    """What the labels card shows: every label when they are few; else the most used and the least agreed on."""
    rows = [{"label": label, "agreement": _number(label.agreement)} for label in report.labels]
    if len(rows) <= LABELS_SHOWN:
        return {"rows": rows, "chart": _labels_chart(report.labels), "collapsed": False}
    used = sorted(report.labels, key=lambda label: (-label.annotated, -label.final))[:LABELS_SHOWN]
    rated = [row for row in rows if row["label"].agreement is not None]
    least = sorted(rated, key=lambda row: row["label"].agreement)[:LABELS_SHOWN]
    return {
        "rows": rows,
        "chart": _labels_chart(used),
        "collapsed": True,
        "shown": len(used),
        "least_agreed": least,
    }


def _seconds(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.1f}"


@require_GET
@login_required
def quality_view(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id, perm=Perm.VIEW_QUALITY)
    report = quality_report(project=project)
    annotators = [
        {
            "who": who,
            "lead_mean": _seconds(who.lead_time_mean_ms),
            "lead_median": _seconds(who.lead_time_median_ms),
            "rate": _number(who.per_active_hour),
            "agreement": _number(who.agreement_with_others),
            "finals": percent_text(who.finals_accuracy),
            "gold": percent_text(who.gold_accuracy),
            "gold_f1": _number(who.gold_f1),
            "acceptance": percent_text(who.acceptance_rate),
        }
        for who in report.per_annotator
    ]
    context = {
        "project": project,
        "report": report,
        "measures": _measure_rows(report),
        "pair_measure": PAIR_MEASURES[report.pair_measure],
        "annotators": annotators,
        "is_spans": project.task_type == TaskType.SPANS,
        "label_card": _label_card(report),
        "versions": [
            {"version": v, "share": percent_text(v.accepted_share)} for v in report.model_versions
        ],
        "pairs": [
            {
                "pair": p,
                "score": _number(p.score),
                "observed": percent_text(p.observed),
                "partial": _number(p.partial_f1),
            }
            for p in report.pairs
        ],
        "matrix": _matrix_chart(report),
        "throughput": _throughput_chart(report),
        "suggestions": _suggestions_chart(report),
        "gold_chart": _gold_chart(report),
        "median_lead": _seconds(report.lead_time_median_ms),
        "panels": panels_render(
            Panel.QUALITY,
            request=request,
            project=project,
            perms=project_perms(user=request.user, project=project),
        ),
    }
    return render(request, "annotation/quality.html", context)
