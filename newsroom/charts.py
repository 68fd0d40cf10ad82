"""Small charts drawn on the server as SVG: no script, no request to anyone else."""

from django.utils.html import format_html, format_html_join


def bar_chart(values, *, labels, title, width=300, height=48):
    """One bar per value, scaled to the largest; each bar's label and value are its <title>
    (shown on hover). The chart is an image named `title`: put the figures in a table too."""
    peak = max(values, default=0) or 1
    step = width / max(len(values), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
        (
            (
                f"{index * step:.1f}",
                f"{height - value / peak * height:.1f}",
                f"{step * 0.8:.1f}",
                f"{value / peak * height:.1f}",
                label,
                value,
            )
            for index, (label, value) in enumerate(zip(labels, values, strict=True))
        ),
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="{}" fill="currentColor">{}</svg>',
        width,
        height,
        width,
        height,
        title,
        bars,
    )
