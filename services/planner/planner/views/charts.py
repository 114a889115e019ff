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
    guide_stroke_color="#e3e3e3",
    major_guide_stroke_color="#c8c8c8",
)
_STYLE = Style(**_STYLE_ARGS)
# The ratio, then B4's caution line (dark amber) and its too-steep line (red).
_RATIO_STYLE = Style(**{**_STYLE_ARGS, "colors": ("#0072B2", "#8A6100", "#B00020")})
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _options(series: Series, narrow: bool) -> dict[str, object]:
    """A wide chart for a screen, a narrow one for a phone: the narrow one is drawn at the
    width a phone shows it, so its text stays at the size it was set in."""
    many = len(series.labels) > (6 if narrow else 14)
    return {
        "style": _RATIO_STYLE if series.guides else _STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "width": 360 if narrow else 720,
        "height": 300 if narrow else 340,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": (
            1
            if narrow and len(series.series) + len(series.guides) > 2
            else min(3, len(series.series) + len(series.guides))
        ),
        "x_label_rotation": 0,
        "x_labels_major_every": (len(series.labels) + 3) // 4 if many else None,
        "show_minor_x_labels": not many,
        "truncate_legend": -1,
        "truncate_label": -1,
        "margin": 8,
        "margin_right": 24,
        "print_values": False,
        "include_x_axis": True,
        "allow_interruptions": True,
        "dots_size": 3,
    }


def _chart(series: Series, narrow: bool) -> pygal.graph.graph.Graph:
    """Pain and the ratio are lines (gaps where a week has no value); counts are bars."""
    title = series.title
    if title.startswith("Sessions"):
        chart = pygal.Bar(**_options(series, narrow))
        names = dict(series.series)
        chart.add("Sessions", list(names["Sessions"]))
        # Whole sessions on the left; minutes on the right at the same lines, in round steps.
        ticks = int(max(names["Sessions"], default=0)) + 1
        chart.y_labels = list(range(0, ticks + 1))
        step = max(15, -(-max(names["Minutes"], default=0) // ticks // 15) * 15)
        chart.secondary_range = (0, step * ticks)
        chart.add("Minutes", list(names["Minutes"]), secondary=True)
    elif title.startswith("Training load"):
        chart = pygal.Bar(**_options(series, narrow))
        for name, values in series.series:
            chart.add(name, list(values))
    else:
        chart = pygal.Line(**_options(series, narrow))
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


def svg(series: Series, element_id: str, *, narrow: bool = False) -> str:
    """The chart as an inline <svg>, labelled for assistive technology by the figure's caption
    and summary (ids `<element_id>-title`, `<element_id>-summary`)."""
    drawn = str(_chart(series, narrow).render(is_unicode=True))
    drawn = _COMMENT.sub("", _SCRIPT.sub("", drawn))
    return drawn.replace(
        "<svg ",
        f'<svg role="img" aria-labelledby="{element_id}-title" '
        f'aria-describedby="{element_id}-summary" focusable="false" '
        'preserveAspectRatio="xMidYMid meet" ',
        1,
    )
