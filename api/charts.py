"""Charts as inline SVG, drawn on the server: a horizontal bar chart (one or more series per category) and a
line chart (one or more series over ordered x labels). Pure functions from numbers and labels to an SVG
string; every label and title is XML-escaped here, so a customer named `<script>` is drawn as text. No
script, no inline style (the pages' CSP allows neither): colours come from classes `s0`, `s1`, … that
dashboard.css paints. Each SVG has a viewBox and no fixed size, so it scales to its container's width."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from itertools import count

from api import i18n

WIDTH = 480  # the viewBox width: at a 390 px phone the text is drawn at about 3/4 of its size
FONT = 13
_ids = count(1)


def esc(value: object) -> str:
    """Text safe in an SVG element or an attribute value (quotes too)."""
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate, short: 12.5 not 12.500000001."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _tick(value: float) -> str:
    """A value as a label: 1,250 or 12.5 (no trailing zeros)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _frame(title: str, desc: str, height: float, body: list[str], kind: str = "chart") -> str:
    n = next(_ids)
    return (f'<svg class="{kind}" viewBox="0 0 {WIDTH} {_num(height)}" role="img" '
            f'aria-labelledby="chart{n}-t chart{n}-d" xmlns="http://www.w3.org/2000/svg" '
            f'font-size="{FONT}" preserveAspectRatio="xMidYMin meet">'
            f'<title id="chart{n}-t">{esc(title)}</title><desc id="chart{n}-d">{esc(desc)}</desc>'
            + "".join(body) + "</svg>")


def _empty(title: str, height: float = 60) -> str:
    return _frame(title, i18n._("No data."), height, [
        f'<text class="empty-note" x="{WIDTH / 2:g}" y="{height / 2 + 4:g}" text-anchor="middle">{esc(i18n._("No data yet"))}</text>'],
        kind="chart nodata")


def _legend(series: Sequence[str], y: float) -> list[str]:
    out, x = [], 0.0
    for i, name in enumerate(series):
        out.append(f'<rect class="s{i}" x="{_num(x)}" y="{_num(y - 10)}" width="10" height="10"/>'
                   f'<text class="legend" x="{_num(x + 14)}" y="{_num(y)}">{esc(name)}</text>')
        x += 24 + 7.5 * len(name)
    return out


def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str,
              unit: str = "", label_width: float = 150, bar: float = 14) -> str:
    """Horizontal bars: one row per category, one bar per series in that row, all on one scale (negative
    values drawn left of a zero line). `series` is [(name, values per category)]."""
    if not categories or not series:  # rows whose values are all 0 are data: drawn as zero-length bars
        return _empty(title)
    values = [float(v) for _, vs in series for v in vs]
    lo, hi = min(0.0, *values), max(0.0, *values)
    span = (hi - lo) or 1.0
    value_room = 64  # the value printed right of the bar
    plot = WIDTH - label_width - value_room
    zero = label_width + plot * (-lo / span)
    legend = len(series) > 1
    top = 22 if legend else 4
    row = bar * len(series) + 10
    body = _legend([name for name, _ in series], 12) if legend else []
    if lo < 0:
        body.append(f'<line class="axis" x1="{_num(zero)}" x2="{_num(zero)}" y1="{top}" '
                    f'y2="{_num(top + row * len(categories))}"/>')
    for r, cat in enumerate(categories):
        y0 = top + r * row
        body.append(f'<text class="label" x="{_num(label_width - 6)}" y="{_num(y0 + row / 2)}" '
                    f'text-anchor="end" dominant-baseline="middle">{esc(_shorten(str(cat), 20))}'
                    f'<title>{esc(cat)}</title></text>')
        for i, (name, vs) in enumerate(series):
            v = float(vs[r])
            w = plot * abs(v) / span
            x = zero if v >= 0 else zero - w
            y = y0 + 5 + i * bar
            tip = f"{cat} — {name}: {_tick(v)}{unit}"
            body.append(f'<rect class="s{i}" x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" '
                        f'height="{_num(bar - 2)}"><title>{esc(tip)}</title></rect>')
            tx = max(x + w, zero) + 4
            body.append(f'<text class="value" x="{_num(tx)}" y="{_num(y + bar / 2)}" '
                        f'dominant-baseline="middle">{esc(_tick(v) + unit)}</text>')
    desc = "; ".join(f"{cat}: " + ", ".join(f"{name} {_tick(float(vs[r]))}{unit}" for name, vs in series)
                     for r, cat in enumerate(categories))
    return _frame(title, desc, top + row * len(categories) + 4, body)


def line_chart(x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str,
               height: float = 220, every: int = 7) -> str:
    """Lines over ordered x labels (days), y from zero to a round maximum; every `every`-th x label is
    written under the axis, and every point has its value as a tooltip."""
    if not x_labels or not series:
        return _empty(title)
    values = [float(v) for _, vs in series for v in vs]
    top_value = _round_up(max([0.0, *values]))
    left, right, top, bottom = 40.0, 8.0, 26.0, 24.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(len(x_labels) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + plot_h - plot_h * v / top_value

    body = _legend([name for name, _ in series], 12)
    for k in range(5):  # grid lines and y ticks
        v = top_value * k / 4
        _, y = xy(0, v)
        body.append(f'<line class="grid" x1="{_num(left)}" x2="{_num(WIDTH - right)}" y1="{_num(y)}" y2="{_num(y)}"/>'
                    f'<text class="tick" x="{_num(left - 4)}" y="{_num(y + 4)}" text-anchor="end">{_tick(v)}</text>')
    for i, lab in enumerate(x_labels):
        if i % every == 0 or (i == len(x_labels) - 1 and (len(x_labels) - 1) % every > every // 2):
            x, _ = xy(i, 0)
            body.append(f'<text class="tick" x="{_num(x)}" y="{_num(height - 6)}" '
                        f'text-anchor="middle">{esc(lab)}</text>')
    for s, (name, vs) in enumerate(series):
        points = [xy(i, float(v)) for i, v in enumerate(vs)]
        body.append(f'<polyline class="line s{s}" fill="none" points="'
                    + " ".join(f"{_num(x)},{_num(y)}" for x, y in points) + '"/>')
        for i, (x, y) in enumerate(points):
            body.append(f'<circle class="dot s{s}" cx="{_num(x)}" cy="{_num(y)}" r="2.5">'
                        f'<title>{esc(f"{x_labels[i]} — {name}: {_tick(float(vs[i]))}")}</title></circle>')
    totals = ", ".join(i18n._("%(name)s %(n)s in all", name=name, n=_tick(sum(float(v) for v in vs))) for name, vs in series)
    return _frame(title, i18n._("%(first)s to %(last)s: %(totals)s.", first=x_labels[0], last=x_labels[-1], totals=totals),
                  height, body)


def _round_up(value: float) -> float:
    """A round top for the y axis: 4 → 4, 7 → 8, 13 → 20, 130 → 200; at least 4 so ticks are whole."""
    if value <= 4:
        return 4.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for m in (1, 2, 4, 5, 8, 10):
        if value <= m * magnitude:
            return float(m * magnitude)
    return float(10 * magnitude)
