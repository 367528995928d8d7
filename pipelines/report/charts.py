"""Small hand-written SVG charts, inlined in the HTML report (no scripts, no external files).

    >>> svg = grouped_bars(["reddit", "feed"], [("this period", [12, 4]), ("period before", [9, 6])],
    ...                    axis_label="posts", fmt=str)
    >>> str(svg).startswith("<svg")
    True

Every text that reaches a chart (labels, channel names, topic labels) is escaped here; functions return
`markupsafe.Markup` so the template can embed them as they are. Sizes are in CSS pixels; text is 12–13 px.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from markupsafe import Markup, escape

PALETTE = ["#1f6fb2", "#e07b25", "#2f9e6b", "#b23a48", "#7a5cc2", "#8c6d31", "#3b8ea5", "#c2569b"]
PREVIOUS = "#b8c4d3"
TEXT = "#1d2733"
MUTED = "#5b6675"
GRID = "#e3e8ef"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps up to at least `top`: nice_ticks(37) -> [0, 10, 20, 30, 40]."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(label)}" style="{FONT};max-width:100%;height:auto">'
            f"<title>{escape(label)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def _legend(items: list[tuple[str, str]], x: float, y: float) -> list[str]:
    out = []
    for name, colour in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" fill="{colour}"/>'
                   f'<text x="{x + 17:.1f}" y="{y:.1f}" font-size="12" fill="{TEXT}">{escape(name)}</text>')
        x += 30 + 7 * len(name)
    return out


def line_chart(days: Sequence, series: dict[str, Sequence[float]], *, axis_label: str, title: str,
               split_at: int | None = None, split_labels: tuple[str, str] = ("", ""),
               day_fmt: Callable = str, width: int = 760, height: int = 280) -> Markup:
    """Daily lines, one per series; a dashed line at index `split_at` separates the two periods."""
    left, right, top, bottom = 56, 16, 44, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(v) for v in series.values() if len(v)] + [0])
    ticks = nice_ticks(peak or 1, 4)
    y_max = ticks[-1]
    n = max(len(days), 2)
    x = lambda i: left + plot_w * i / (n - 1)
    y = lambda v: top + plot_h * (1 - v / y_max)
    body = [f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="{TEXT}">{escape(title)}</text>']
    body += _legend([(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(series)], left, 34)
    for t in ticks:
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{GRID}"/>'
                    f'<text x="{left - 6}" y="{y(t) + 4:.1f}" font-size="12" text-anchor="end" fill="{MUTED}">'
                    f"{escape(_fmt_tick(t))}</text>")
    step = max(1, math.ceil(len(days) / 8))
    for i, day in enumerate(days):
        if i % step == 0 or i == len(days) - 1:
            body.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 18}" font-size="12" text-anchor="middle" '
                        f'fill="{MUTED}">{escape(day_fmt(day))}</text>')
    if split_at is not None and 0 < split_at < len(days):
        sx = (x(split_at - 1) + x(split_at)) / 2
        body.append(f'<line x1="{sx:.1f}" x2="{sx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{MUTED}" '
                    f'stroke-dasharray="4 4"/>'
                    f'<text x="{sx - 6:.1f}" y="{top + 12}" font-size="12" text-anchor="end" fill="{MUTED}">'
                    f"{escape(split_labels[0])}</text>"
                    f'<text x="{sx + 6:.1f}" y="{top + 12}" font-size="12" fill="{MUTED}">{escape(split_labels[1])}</text>')
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{x(j):.1f},{y(v):.1f}" for j, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5" '
                    f'stroke-linejoin="round"><title>{escape(name)}</title></polyline>')
    body.append(f'<text x="14" y="{top + plot_h / 2:.1f}" font-size="12" fill="{MUTED}" text-anchor="middle" '
                f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{escape(axis_label)}</text>')
    return _svg(width, height, title, body)


def _fmt_tick(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def grouped_bars(categories: Sequence[str], series: list[tuple[str, Sequence[float]]], *, axis_label: str,
                 fmt: Callable[[float], str], title: str = "", width: int = 760) -> Markup:
    """Horizontal bars, one group per category; the first series is drawn in colour, later ones in grey."""
    label_w, right, top = 170, 70, 52
    bar_h, gap = 14, 12
    group_h = bar_h * len(series) + gap
    height = top + group_h * max(len(categories), 1) + 36
    plot_w = width - label_w - right
    peak = max([max(values) for _, values in series if len(values)] + [0]) or 1
    ticks = nice_ticks(peak, 4)
    scale = plot_w / ticks[-1]
    colours = [PALETTE[0]] + [PREVIOUS] * (len(series) - 1)
    body = [f'<text x="0" y="16" font-size="13" font-weight="600" fill="{TEXT}">{escape(title)}</text>']
    body += _legend([(name, colours[i]) for i, (name, _) in enumerate(series)], label_w, 36)
    bottom = top + group_h * max(len(categories), 1)
    for t in ticks:
        tx = label_w + t * scale
        body.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 4}" y2="{bottom}" stroke="{GRID}"/>'
                    f'<text x="{tx:.1f}" y="{bottom + 16}" font-size="12" text-anchor="middle" fill="{MUTED}">'
                    f"{escape(_fmt_tick(t))}</text>")
    for c, category in enumerate(categories):
        gy = top + c * group_h
        body.append(f'<text x="{label_w - 8}" y="{gy + bar_h * len(series) / 2 + 4:.1f}" font-size="13" '
                    f'text-anchor="end" fill="{TEXT}">{escape(_clip(category, 24))}</text>')
        for s, (name, values) in enumerate(series):
            value = values[c] or 0
            by = gy + s * bar_h
            body.append(f'<rect x="{label_w}" y="{by}" width="{max(value * scale, 0):.1f}" height="{bar_h - 2}" '
                        f'fill="{colours[s]}"><title>{escape(name)}: {escape(fmt(value))}</title></rect>'
                        f'<text x="{label_w + value * scale + 5:.1f}" y="{by + bar_h - 4}" font-size="12" '
                        f'fill="{TEXT}">{escape(fmt(value))}</text>')
    body.append(f'<text x="{label_w + plot_w / 2:.1f}" y="{bottom + 32}" font-size="12" text-anchor="middle" '
                f'fill="{MUTED}">{escape(axis_label)}</text>')
    return _svg(width, height + 6, title or axis_label, body)


def diverging_bars(labels: Sequence[str], values: Sequence[float], *, axis_label: str,
                   fmt: Callable[[float], str], title: str = "", width: int = 760) -> Markup:
    """Bars left (negative) and right (positive) of a centre line: rising and falling topic scores."""
    label_w, pad, top, bar_h = 250, 50, 30, 22
    height = top + bar_h * max(len(labels), 1) + 40
    plot_w = width - label_w - 2 * pad
    peak = max([abs(v) for v in values] + [1])
    ticks = nice_ticks(peak, 3)
    half = plot_w / 2
    centre = label_w + pad + half
    scale = half / ticks[-1]
    bottom = top + bar_h * max(len(labels), 1)
    body = [f'<text x="0" y="16" font-size="13" font-weight="600" fill="{TEXT}">{escape(title)}</text>']
    for t in ticks:
        for sign in ((1, -1) if t else (1,)):
            tx = centre + sign * t * scale
            body.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 4}" y2="{bottom}" stroke="{GRID}"/>'
                        f'<text x="{tx:.1f}" y="{bottom + 16}" font-size="12" text-anchor="middle" fill="{MUTED}">'
                        f"{escape(fmt(sign * t))}</text>")
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * bar_h
        w = abs(value) * scale
        x0 = centre if value >= 0 else centre - w
        colour = "#2f9e6b" if value >= 0 else "#b23a48"
        anchor_x = centre + w + 5 if value >= 0 else centre - w - 5
        anchor = "start" if value >= 0 else "end"
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="13" text-anchor="end" fill="{TEXT}">'
                    f"{escape(_clip(label, 34))}</text>"
                    f'<rect x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" fill="{colour}">'
                    f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
                    f'<text x="{anchor_x:.1f}" y="{y + 15}" font-size="12" text-anchor="{anchor}" fill="{TEXT}">'
                    f"{escape(fmt(value))}</text>")
    body.append(f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{top - 4}" y2="{bottom}" stroke="{MUTED}"/>'
                f'<text x="{centre:.1f}" y="{bottom + 34}" font-size="12" text-anchor="middle" fill="{MUTED}">'
                f"{escape(axis_label)}</text>")
    return _svg(width, height, title or axis_label, body)


def _shade(value: float) -> str:
    """0 -> near white, 1 -> dark blue (linear in RGB between two anchors)."""
    value = min(max(value, 0.0), 1.0)
    lo, hi = (244, 247, 251), (20, 70, 140)
    r, g, b = (round(lo[k] + (hi[k] - lo[k]) * value) for k in range(3))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(row_labels: Sequence[str], col_labels: Sequence[str], matrix: Sequence[Sequence[float]], *,
            fmt: Callable[[float], str], legend_label: str, title: str = "", width: int = 760) -> Markup:
    """Cells shaded by value (scaled to the largest cell), the value printed in each cell."""
    label_w, top_h, cell_h = 220, 120, 30
    cols = max(len(col_labels), 1)
    cell_w = min(90.0, (width - label_w - 10) / cols)
    height = top_h + cell_h * max(len(row_labels), 1) + 40
    peak = max([v for row in matrix for v in row] + [0]) or 1
    body = [f'<text x="0" y="16" font-size="13" font-weight="600" fill="{TEXT}">{escape(title)}</text>']
    for j, label in enumerate(col_labels):
        cx = label_w + j * cell_w + cell_w / 2
        body.append(f'<text x="{cx:.1f}" y="{top_h - 8}" font-size="12" fill="{TEXT}" '
                    f'transform="rotate(-40 {cx:.1f} {top_h - 8})">{escape(_clip(label, 22))}'
                    f"<title>{escape(label)}</title></text>")
    for i, label in enumerate(row_labels):
        y = top_h + i * cell_h
        body.append(f'<text x="{label_w - 8}" y="{y + 19}" font-size="13" text-anchor="end" fill="{TEXT}">'
                    f"{escape(_clip(label, 30))}</text>")
        for j, value in enumerate(matrix[i]):
            x = label_w + j * cell_w
            level = value / peak
            ink = "#ffffff" if level > 0.55 else TEXT
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{cell_w - 2:.1f}" height="{cell_h - 2}" '
                        f'fill="{_shade(level)}"><title>{escape(label)} · {escape(col_labels[j])}: '
                        f"{escape(fmt(value))}</title></rect>")
            if value:
                body.append(f'<text x="{x + cell_w / 2 - 1:.1f}" y="{y + 19}" font-size="12" text-anchor="middle" '
                            f'fill="{ink}">{escape(fmt(value))}</text>')
    ly = top_h + cell_h * max(len(row_labels), 1) + 18
    for k in range(5):
        body.append(f'<rect x="{label_w + k * 24}" y="{ly - 10}" width="24" height="12" fill="{_shade(k / 4)}"/>')
    body.append(f'<text x="{label_w + 130}" y="{ly}" font-size="12" fill="{MUTED}">0 … {escape(fmt(peak))} '
                f"{escape(legend_label)}</text>")
    return _svg(width, height, title or legend_label, body)
