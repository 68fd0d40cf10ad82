"""Bar charts for the admin (the membership dashboard, a fundraiser block's results), drawn on
the server as SVG: no script, no request to anyone else.

`bar_chart()` computes the geometry (scale, bars, axis ticks, labels and legend) and the
template `admin/includes/bar_chart.html` writes it out as an `<svg role="img">` named by its
`<title>` and `<desc>`. A chart is a picture of a table: the page puts the same figures in a
table next to it, which is what screen readers read.
"""

import math
from dataclasses import dataclass, field

# The admin's own colours: its blue (--primary), the red of its errors, a green.
BLUE = "#417690"
RED = "#ba2121"
GREEN = "#3f7f3f"

WIDTH = 720
HEIGHT = 260
LEFT = 72  # room for the value axis' labels
RIGHT = 8
TOP = 28  # room for the legend
BOTTOM = 40  # room for two lines of category labels


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str  # "Series, category: value", shown on hover


@dataclass
class Tick:
    y: float
    label: str


@dataclass
class Label:
    x: float
    lines: list


@dataclass
class LegendItem:
    x: float
    fill: str
    text: str


@dataclass
class Chart:
    id: str
    title: str
    description: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: list = field(default_factory=list)
    ticks: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    legend: list = field(default_factory=list)


def nice_step(peak, ticks=4):
    """A round step (1, 2 or 5 times a power of ten, at least 1) that covers `peak` in about
    `ticks` steps."""
    if peak <= 0:
        return 1
    raw = peak / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return max(1, int(step))


def bar_chart(
    *,
    chart_id,
    title,
    description,
    categories,
    series,
    format_value=str,
    width=WIDTH,
    height=HEIGHT,
):
    """Grouped bars: one group per category, one bar per series in each group. A category is
    (the lines of its label under the axis, e.g. ["Jan", "2026"], and its full name for the
    bars' titles, e.g. "January 2026"). `series` is a list of (name, values, fill);
    values are numbers ≥ 0, one per category. `format_value` writes a value for the axis and
    the bars' titles."""
    left, right, top, bottom = LEFT, width - RIGHT, TOP, height - BOTTOM
    chart = Chart(
        id=chart_id,
        title=title,
        description=description,
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
    )
    peak = max((max(0, value) for _name, values, _fill in series for value in values), default=0)
    step = nice_step(peak)
    ceiling = step * max(1, math.ceil(peak / step))

    def y_of(value):
        return bottom - (bottom - top) * max(0, value) / ceiling

    chart.ticks = [
        Tick(y=round(y_of(value), 1), label=format_value(value))
        for value in range(0, ceiling + 1, step)
    ]
    slot = (right - left) / max(len(categories), 1)
    bar_width = slot * 0.8 / max(len(series), 1)
    for index, (lines, category) in enumerate(categories):
        group_left = left + index * slot + slot * 0.1
        chart.labels.append(Label(x=round(left + (index + 0.5) * slot, 1), lines=lines))
        for position, (name, values, fill) in enumerate(series):
            value = values[index]
            y = y_of(value)
            chart.bars.append(
                Bar(
                    x=round(group_left + position * bar_width, 1),
                    y=round(y, 1),
                    width=round(bar_width * 0.9, 1),
                    height=round(bottom - y, 1),
                    fill=fill,
                    title=f"{name}, {category}: {format_value(value)}",
                )
            )
    legend_x = left
    for name, _values, fill in series:
        chart.legend.append(LegendItem(x=legend_x, fill=fill, text=name))
        legend_x += 24 + 8 * len(str(name))
    return chart
