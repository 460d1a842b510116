"""common.charts draws the SVG of every chart: sizes, ids and classes the pages style, escaped names."""

from common.charts import (
    NAME_CHARS,
    blend,
    grouped_bars,
    gutter,
    heatmap_svg,
    line_chart_svg,
    name_short,
    stacked_bars_svg,
)

HOSTILE = '<script>alert("x")</script>'


def test_long_names_are_shortened_with_an_ellipsis_and_short_ones_kept():
    assert name_short("ada") == "ada"
    shortened = name_short("x" * 100)
    assert len(shortened) == NAME_CHARS and shortened.endswith("…")


def test_the_gutter_grows_with_the_longest_name_up_to_the_shortened_length():
    assert gutter([]) == 16
    assert gutter(["abcd"]) == 16 + 30
    assert gutter(["x" * 500]) == gutter(["x" * NAME_CHARS])


def test_blend_runs_from_the_low_colour_to_the_high_one():
    assert blend((255, 255, 255), (0, 0, 0), 0) == "#ffffff"
    assert blend((255, 255, 255), (0, 0, 0), 1) == "#000000"
    assert blend((0, 0, 0), (100, 200, 50), 0.5) == "#326419"


def _cell(text):
    return {"fill": "#fff", "ink": "#000", "text": text, "title": f"cell {text}", "stroke": "#fff"}


def test_a_heatmap_draws_one_cell_per_pair_and_both_axes_with_names_escaped():
    svg = heatmap_svg(
        element_id="m",
        title="Matrix",
        names=["ada", HOSTILE],
        cells=[[_cell(1), _cell(2)], [_cell(3), _cell(4)]],
        cell=40,
        left=50,
        top=60,
        width=200,
        height=210,
    )
    assert svg.startswith('<svg class="chart" id="m" role="img" viewBox="0 0 200 210"')
    assert svg.count('<rect x="') == 4 and svg.count('class="chart-cell"') == 4
    assert '<rect x="90" y="100" width="40" height="40"' in svg  # row 1, column 1
    assert svg.count('class="chart-label"') == 4 and "rotate(-45 70 54)" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_stacked_bars_draw_each_part_with_its_title_and_the_rows_value():
    chart = {
        "left": 100,
        "width": 400,
        "height": 80,
        "text_x": 300,
        "bar_height": 20,
        "rows": [
            {
                "name": "v1",
                "short": "v1",
                "y": 0.0,
                "parts": [{"x": 100, "width": 30, "fill": "#0f0", "title": "kept: 3"}],
                "text": "30 %",
            }
        ],
    }
    svg = stacked_bars_svg(element_id="s", title="Bars", chart=chart)
    assert (
        '<rect x="100" y="0.0" width="30" height="20" fill="#0f0"><title>kept: 3</title></rect>'
        in svg
    )
    assert '<text class="chart-value" x="300" y="16">30 %</text>' in svg


def test_grouped_bars_draw_one_score_bar_per_series_and_group_or_nothing_without_groups():
    series = (("precision", "#111111"), ("recall", "#222222"))
    assert grouped_bars([], series, element_id="b", title="t") is None
    chart = grouped_bars(
        [("pos", [0.5, 2.0]), ("neg", [0.0, 1.0])], series, element_id="b", title="t"
    )
    assert chart["svg"].count('class="score-bar"') == 4
    assert "pos recall: 1.000" in chart["svg"]  # values are clipped to 0..1
    assert chart["legend"] == [
        {"name": "precision", "fill": "#111111"},
        {"name": "recall", "fill": "#222222"},
    ]


def test_a_line_chart_joins_the_points_and_marks_the_marked_ones():
    points = [
        {"x": 10, "y": 0.5, "title": "a", "marked": False},
        {"x": 20, "y": 0.9, "title": "b", "marked": True},
    ]
    svg = line_chart_svg(
        points, [{"x": 20, "name": "v1"}], element_id="c", title="t", x_label="labels",
        line="#0000ff", marked="#ff8800",
    )  # fmt: skip
    assert svg.count("<circle") == 2 and svg.count('class="curve-point by-model"') == 1
    assert svg.count('class="model-version-mark"') == 1 and ">v1</text>" in svg
    # The x axis ends at 20 (a nice number), so the second point sits at the plot's right end.
    assert '<polyline points="296.0,92.0 556.0,28.0"' in svg
