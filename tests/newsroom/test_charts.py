"""The dashboard's SVG bar charts: scale, bars, ticks and labels computed on the server."""

import pytest

from newsroom.charts import bar_chart, nice_step


@pytest.mark.parametrize(
    "peak, step", [(0, 1), (3, 1), (5, 2), (6, 2), (9, 5), (37, 10), (1234, 500), (80000, 20000)]
)
def test_the_value_axis_steps_are_round(peak, step):
    assert nice_step(peak) == step


def test_bars_are_scaled_to_the_top_tick_and_grouped_per_category():
    chart = bar_chart(
        chart_id="c",
        title="New and cancelled",
        description="Per month",
        categories=[(["Jan", "2026"], "January 2026"), (["Feb"], "February 2026")],
        series=[("New", [5, 2], "#417690"), ("Cancelled", [0, 1], "#ba2121")],
        format_value=lambda value: f"{value} members",
        width=400,
        height=240,
    )
    # Peak 5 in steps of 2: the axis goes 0, 2, 4, 6 over the plot's 172 pixels (28 to 200).
    assert [(tick.y, tick.label) for tick in chart.ticks] == [
        (200.0, "0 members"),
        (142.7, "2 members"),
        (85.3, "4 members"),
        (28.0, "6 members"),
    ]
    heights = [bar.height for bar in chart.bars]
    assert heights == [round(172 * 5 / 6, 1), 0.0, round(172 * 2 / 6, 1), round(172 / 6, 1)]
    assert all(bar.y + bar.height == pytest.approx(200, abs=0.1) for bar in chart.bars)
    assert [bar.title for bar in chart.bars] == [
        "New, January 2026: 5 members",
        "Cancelled, January 2026: 0 members",
        "New, February 2026: 2 members",
        "Cancelled, February 2026: 1 members",
    ]
    # Each group sits in its half of the plot, bars side by side, left to right.
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs)
    assert chart.left <= xs[0] and xs[-1] + chart.bars[-1].width <= chart.right
    assert [label.lines for label in chart.labels] == [["Jan", "2026"], ["Feb"]]
    assert [item.text for item in chart.legend] == ["New", "Cancelled"]
