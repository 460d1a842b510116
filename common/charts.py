"""Server-drawn SVG charts: heatmaps, bar charts, an hourly grid and a line chart, as safe markup.

Colours travel as SVG presentation attributes (``fill``, ``stroke``), never as inline styles, so
the strict CSP holds. Every name is drawn with its full text as an SVG ``<title>``; callers pass
texts already translated. Positions a template used to offset with ``|add`` are truncated to
whole pixels the same way, so the drawing does not move.
"""

from collections.abc import Iterable

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# A generous width of one character of a 12 px chart label (DejaVu Sans, the widest usual system-ui
# fallback, averages about 7 px): room sized with it never cuts a name at the chart's edge.
NAME_PX = 7.5
# Names are drawn whole up to NAME_CHARS characters; a longer one is shortened with an ellipsis.
NAME_CHARS = 64
GRID_STROKE, AXIS_INK = "#d0d5dd", "#667085"


def name_short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def name_width(names: Iterable[str], *, empty: int = 0) -> float:
    """Room the longest name needs, in pixels (``empty`` characters' worth when there is none)."""
    return NAME_PX * max((len(name) for name in names), default=empty)


def gutter(names: Iterable[str]) -> int:
    """Room left of (or above) a plot for the longest name, drawn whole up to NAME_CHARS."""
    return 16 + round(name_width(name_short(name) for name in names))


def blend(low: tuple[int, int, int], high: tuple[int, int, int], share: float) -> str:
    """The colour ``share`` (0..1) of the way from ``low`` to ``high``, as #rrggbb."""
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(low, high))


def _px(value) -> int:
    # What a template's ``|add`` made of a position: whole pixels, truncated.
    return int(value)


def _title(text) -> SafeString:
    return format_html("<title>{}</title>", text) if text else mark_safe("")


def _join(parts: Iterable[str]) -> SafeString:
    return mark_safe("".join(parts))


def chart_svg(*, element_id: str, title: str, width, height, body: str) -> SafeString:
    """The chart's ``<svg>``: its id, its accessible title and size; ``body`` is safe markup."""
    return format_html(
        '<svg class="chart" id="{}" role="img" viewBox="0 0 {} {}" width="{}" height="{}">'
        "<title>{}</title>{}</svg>",
        element_id,
        width,
        height,
        width,
        height,
        title,
        body,
    )


def _chart_of(chart: dict, *, element_id: str, title: str, parts: list) -> SafeString:
    return chart_svg(
        element_id=element_id,
        title=title,
        width=chart["width"],
        height=chart["height"],
        body=_join(parts),
    )


def _label(x, y, name: str, short: str, *, anchor: str = "end", extra: str = "") -> SafeString:
    return format_html(
        '<text class="chart-label" x="{}" y="{}" text-anchor="{}"{}><title>{}</title>{}</text>',
        x,
        y,
        anchor,
        mark_safe(extra),
        name,
        short,
    )


def _y_grid(ticks: list[dict], *, left, right, text_attrs: str = "") -> SafeString:
    """A grid line and its value at each tick ({value, y})."""
    return format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="'
        + GRID_STROKE
        + '" stroke-width="1"></line>'
        '<text class="chart-axis"' + text_attrs + ' x="{}" y="{}" text-anchor="end" '
        'dominant-baseline="middle">{}</text>',
        ((left, right, t["y"], t["y"], _px(left) - 4, t["y"], t["value"]) for t in ticks),
    )


def heatmap_svg(
    *,
    element_id: str,
    title: str,
    names: list[str],
    cells: list[list[dict]],
    cell: int,
    left: int,
    top: int,
    width,
    height,
    shorten: bool = True,
) -> SafeString:
    """A square matrix of ``names`` by ``names``: ``cells[row][column]`` holds {fill, ink, text,
    title, stroke}; names label the rows on the left and lean at 45 degrees over the columns."""
    half = cell // 2
    parts = []
    for row, line in enumerate(cells):
        for column, spec in enumerate(line):
            x, y = left + column * cell, top + row * cell
            parts.append(
                format_html(
                    '<g>{}<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}" '
                    'stroke-width="2"></rect><text class="chart-cell" x="{}" y="{}" fill="{}" '
                    'text-anchor="middle" dominant-baseline="middle">{}</text></g>',
                    _title(spec["title"]),
                    x,
                    y,
                    cell,
                    cell,
                    spec["fill"],
                    spec["stroke"],
                    x + half,
                    y + half,
                    spec["ink"],
                    spec["text"],
                )
            )
    for index, name in enumerate(names):
        short = name_short(name) if shorten else name
        x, y, above = left + index * cell + half, top + index * cell + half, top - 6
        parts.append(_label(left - 6, y, name, short, extra=' dominant-baseline="middle"'))
        parts.append(
            _label(
                x, above, name, short, anchor="start", extra=f' transform="rotate(-45 {x} {above})"'
            )
        )
    return chart_svg(
        element_id=element_id, title=title, width=width, height=height, body=_join(parts)
    )


def stacked_bars_svg(*, element_id: str, title: str, chart: dict) -> SafeString:
    """Horizontal bars made of parts, one row each: ``chart`` holds left, width, height, text_x,
    bar_height and rows of {name, short, y, parts: [{x, width, fill, title?}], text}."""
    parts = []
    for row in chart["rows"]:
        baseline = _px(row["y"]) + 16
        parts.append(_label(chart["left"] - 8, baseline, row["name"], row["short"]))
        parts += [
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">{}</rect>',
                part["x"],
                row["y"],
                part["width"],
                chart["bar_height"],
                part["fill"],
                _title(part.get("title")),
            )
            for part in row["parts"]
        ]
        parts.append(
            format_html(
                '<text class="chart-value" x="{}" y="{}">{}</text>',
                chart["text_x"],
                baseline,
                row["text"],
            )
        )
    return _chart_of(chart, element_id=element_id, title=title, parts=parts)


def paired_bars_svg(*, element_id: str, title: str, chart: dict) -> SafeString:
    """Two bars a row, solid then pale, each with its count: ``chart`` holds left, width, height,
    bar_height and rows of {name, short, fill, y, label_y, first, first_width, first_title,
    second, second_y, second_width, second_title}."""
    left, height, parts = chart["left"], chart["bar_height"], []
    for row in chart["rows"]:
        parts.append(_label(left - 8, row["label_y"], row["name"], row["short"]))
        for key, y, value_y, opacity in (
            ("first", row["y"], row["label_y"] - 2, ""),
            ("second", row["second_y"], row["second_y"] + 14, ' fill-opacity="0.4"'),
        ):
            parts.append(
                format_html(
                    '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="{}"{}></rect></g>'
                    '<text class="chart-value" x="{}" y="{}">{}</text>',
                    row[f"{key}_title"],
                    left,
                    y,
                    row[f"{key}_width"],
                    height,
                    row["fill"],
                    mark_safe(opacity),
                    left + row[f"{key}_width"] + 4,
                    value_y,
                    row[key],
                )
            )
    return _chart_of(chart, element_id=element_id, title=title, parts=parts)


def grid_svg(*, element_id: str, title: str, chart: dict) -> SafeString:
    """Cells by column and row (e.g. hours by people): ``chart`` holds left, width, height, cell,
    columns of {x, label, title}, rows of {name, short, y} and cells of {x, y, fill, title}."""
    parts = [
        format_html(
            '<text class="chart-axis" x="{}" y="32" text-anchor="middle"><title>{}</title>{}</text>',
            column["x"],
            column["title"],
            column["label"],
        )
        for column in chart["columns"]
    ]
    parts += [
        _label(chart["left"] - 6, row["y"], row["name"], row["short"]) for row in chart["rows"]
    ]
    parts += [
        format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">{}</rect>',
            cell["x"],
            cell["y"],
            chart["cell"],
            chart["cell"],
            cell["fill"],
            _title(cell["title"]),
        )
        for cell in chart["cells"]
    ]
    return _chart_of(chart, element_id=element_id, title=title, parts=parts)


# Plots with a 0..1 value axis (grouped bars, the line chart).
PLOT_HEIGHT = 160
TOP, LEFT = 12, 36
SIN_35, COS_35 = 0.574, 0.819


def grouped_bars(
    groups: list[tuple[str, list[float]]],
    series: tuple[tuple[str, str], ...],
    *,
    element_id: str,
    title: str,
    bar: int = 14,
    gap: int = 18,
    bottom: int = 70,
) -> dict | None:
    """Bars of ``series`` ((name, colour), ...) per group (name, values 0..1), names leaning at 35
    degrees below; the svg and a legend, or None without a group."""
    if not groups:
        return None
    group = bar * len(series) + gap
    # The names lean left from under their bars: below the plot they need sin 35 of their length,
    # and left of the first bar cos 35 of it, which pushes the plot right.
    longest = name_width(name for name, _ in groups)
    shift = max(0, round(COS_35 * longest - (gap + bar * len(series) / 2)) + 4)
    left, width = LEFT + shift, LEFT + shift + group * len(groups) + gap
    ticks = [
        {"value": f"{t:.1f}", "y": round(TOP + PLOT_HEIGHT - t * PLOT_HEIGHT, 1)}
        for t in (0, 0.5, 1.0)
    ]
    bars, names = [], []
    for index, (name, values) in enumerate(groups):
        x0 = left + gap + index * group
        for offset, ((key, colour), raw) in enumerate(zip(series, values)):
            value = max(0.0, min(1.0, float(raw)))
            height = round(value * PLOT_HEIGHT, 1)
            bars.append(
                format_html(
                    '<rect class="score-bar" x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
                    x0 + offset * bar,
                    round(TOP + PLOT_HEIGHT - height, 1),
                    bar - 2,
                    height,
                    colour,
                    f"{name} {key}: {value:.3f}",
                )
            )
        x, y = x0 + bar * len(series) / 2, TOP + PLOT_HEIGHT + 14
        names.append(_label(x, y, name, name, extra=f' transform="rotate(-35 {x} {y})"'))
    body = _join([_y_grid(ticks, left=left, right=width), *bars, *names])
    height = TOP + PLOT_HEIGHT + max(bottom, round(14 + SIN_35 * longest + 12))
    return {
        "svg": chart_svg(element_id=element_id, title=title, width=width, height=height, body=body),
        "legend": [{"name": key, "fill": colour} for key, colour in series],
    }


def _nice_top(value: int) -> int:
    """An axis end: ``value`` rounded up to 1, 2 or 5 times a power of ten."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def line_chart_svg(
    points: list[dict],
    marks: list[dict],
    *,
    element_id: str,
    title: str,
    x_label: str,
    line: str,
    marked: str,
    plot_width: int = 520,
    bottom: int = 40,
    right: int = 16,
) -> SafeString:
    """Points ({x (a count), y (0..1), title, marked}) joined by a line over a 0..``nice`` x axis,
    marked points bigger in the ``marked`` colour, and a dashed line at each mark ({x, name})."""
    x_end = _nice_top(max(max(point["x"] for point in points), 1))

    def x_of(value) -> float:
        return round(LEFT + plot_width * value / x_end, 1)

    def y_of(value: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - max(0.0, min(1.0, value))), 1)

    plot_bottom, axis = TOP + PLOT_HEIGHT, f' font-size="10" fill="{AXIS_INK}"'
    ticks = [{"value": f"{t:.1f}", "y": y_of(t)} for t in (0.0, 0.5, 1.0)]
    parts = [_y_grid(ticks, left=LEFT, right=LEFT + plot_width, text_attrs=axis)]
    parts += [
        format_html(
            '<text class="chart-axis"{} x="{}" y="{}" text-anchor="middle">{}</text>',
            mark_safe(axis),
            x,
            y,
            text,
        )
        for x, y, text in [
            *((x_of(v), plot_bottom + 16, v) for v in (0, x_end // 2, x_end)),
            (LEFT + plot_width // 2, plot_bottom + 32, x_label),
        ]
    ]
    for mark in marks:
        x = x_of(mark["x"])
        parts.append(
            format_html(
                '<line class="model-version-mark" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" '
                'stroke-width="1" stroke-dasharray="4 3"></line>'
                '<text class="chart-label" font-size="11" x="{}" y="{}" fill="{}">{}</text>',
                x,
                x,
                TOP,
                plot_bottom,
                marked,
                _px(x) + 3,
                TOP + 10,
                marked,
                mark["name"],
            )
        )
    dots = [(x_of(point["x"]), y_of(point["y"]), point) for point in points]
    parts.append(
        format_html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"></polyline>',
            " ".join(f"{x},{y}" for x, y, _ in dots),
            line,
        )
    )
    parts += [
        format_html(
            '<circle class="{}" cx="{}" cy="{}" r="{}" fill="{}"><title>{}</title></circle>',
            "curve-point by-model" if point["marked"] else "curve-point",
            x,
            y,
            5 if point["marked"] else 3.5,
            marked if point["marked"] else line,
            point["title"],
        )
        for x, y, point in dots
    ]
    return chart_svg(
        element_id=element_id,
        title=title,
        width=LEFT + plot_width + right,
        height=plot_bottom + bottom,
        body=_join(parts),
    )
