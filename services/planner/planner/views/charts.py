"""The page's charts as SVG, drawn on the server with pygal: no script reaches the browser."""

import re

import pygal
from pygal.style import Style

from planner.views.page_model import Series

# Colours a reader with any common colour vision tells apart (Okabe-Ito), on white, each with a
# contrast of 3:1 or more against it; the guide lines in the reds of the pause banner.
_STYLE_ARGS: dict[str, object] = dict(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#595959",
    colors=("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#B8860B", "#B00020"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
    tooltip_font_size=12,
    opacity="0.85",
    opacity_hover="0.95",
)
_STYLE = Style(**_STYLE_ARGS)
# The ratio, then B4's caution line (dark amber) and its too-steep line (red).
_RATIO_STYLE = Style(**{**_STYLE_ARGS, "colors": ("#0072B2", "#8A6100", "#B00020")})
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _options(series: Series) -> dict[str, object]:
    return {
        "style": _RATIO_STYLE if series.guides else _STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "width": 720,
        "height": 340,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "x_label_rotation": 0 if len(series.labels) <= 6 else 40,
        "show_minor_x_labels": True,
        "truncate_legend": -1,
        "margin": 12,
        "print_values": False,
        "include_x_axis": True,
        "allow_interruptions": True,
        "dots_size": 3,
    }


def _chart(series: Series) -> pygal.graph.graph.Graph:
    """Pain and the ratio are lines (gaps where a week has no value); counts are bars."""
    title = series.title
    if title.startswith("Sessions"):
        chart = pygal.Bar(**_options(series))
        names = dict(series.series)
        chart.add("Sessions", list(names["Sessions"]))
        chart.add("Minutes", list(names["Minutes"]), secondary=True)
    elif title.startswith("Training load"):
        chart = pygal.Bar(**_options(series))
        for name, values in series.series:
            chart.add(name, list(values))
    else:
        chart = pygal.Line(**_options(series))
        if title.startswith("Weekly pain"):
            chart.range = (0, 10)
        for name, values in series.series:
            chart.add(name, list(values))
        for name, level in series.guides:
            chart.add(
                name,
                [level] * len(series.labels),
                show_dots=False,
                stroke_style={"width": 2, "dasharray": "8,5"},
                allow_interruptions=False,
            )
        if series.guides:
            top = max(v for v in (*series.all_values(), *(g for _, g in series.guides)))
            chart.range = (0, max(2.0, round(top + 0.3, 1)))
    chart.x_labels = list(series.labels)
    return chart


def svg(series: Series, element_id: str) -> str:
    """The chart as an inline <svg>, labelled for assistive technology by the figure's caption
    and summary (ids `<element_id>-title`, `<element_id>-summary`)."""
    drawn = str(_chart(series).render(is_unicode=True))
    drawn = _COMMENT.sub("", _SCRIPT.sub("", drawn))
    return drawn.replace(
        "<svg ",
        f'<svg role="img" aria-labelledby="{element_id}-title" '
        f'aria-describedby="{element_id}-summary" focusable="false" '
        'preserveAspectRatio="xMidYMid meet" ',
        1,
    )
