"""A braille canvas (2x4 dots per cell) with layers, and the loss/LR chart drawn on it.

Pure Python (no Textual): ``chart_rows`` returns rows of (text, layer) runs that the widget
styles. Layers, lowest priority first: EPOCH markers, RAW loss, COMPARE (a second run), SMOOTH
(the smoothed loss), LR, AXIS, VAL (the validation loss). A cell takes the colour of its highest
layer and the dots of all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EPOCH, RAW, COMPARE, SMOOTH, LR, AXIS, VAL = range(7)
_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [dot row][dot column]


class Canvas:
    def __init__(self, width: int, height: int):
        self.w, self.h = max(1, width), max(1, height)
        self.bits = [[0] * self.w for _ in range(self.h)]
        self.layer = [[-1] * self.w for _ in range(self.h)]

    @property
    def dots(self) -> tuple[int, int]:
        return self.w * 2, self.h * 4

    def plot(self, x: int, y: int, layer: int) -> None:
        """Dot (x, y), y = 0 at the top."""
        if 0 <= x < self.w * 2 and 0 <= y < self.h * 4:
            cy, cx = y >> 2, x >> 1
            self.bits[cy][cx] |= _BITS[y & 3][x & 1]
            if layer > self.layer[cy][cx]:
                self.layer[cy][cx] = layer

    def vline(self, x: int, y0: int, y1: int, layer: int, step: int = 1) -> None:
        for y in range(min(y0, y1), max(y0, y1) + 1, step):
            self.plot(x, y, layer)

    def line(self, x0: int, y0: int, x1: int, y1: int, layer: int) -> None:
        n = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(n + 1):
            self.plot(round(x0 + (x1 - x0) * i / n), round(y0 + (y1 - y0) * i / n), layer)

    def rows(self) -> list[list[tuple[str, int]]]:
        """Each row as runs of (text, layer); empty cells are spaces with layer -1."""
        out = []
        for bits, layers in zip(self.bits, self.layer):
            runs: list[tuple[str, int]] = []
            for b, lay in zip(bits, layers):
                ch = chr(0x2800 + b) if b else " "
                lay = lay if b else -1
                if runs and runs[-1][1] == lay:
                    runs[-1] = (runs[-1][0] + ch, lay)
                else:
                    runs.append((ch, lay))
            out.append(runs)
        return out


def ema(values: list[float], alpha: float) -> list[float]:
    out, acc = [], None
    for v in values:
        acc = v if acc is None else acc + alpha * (v - acc)
        out.append(acc)
    return out


@dataclass
class Series:
    steps: list[int]
    values: list[float]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000 or a < 0.001:
        return f"{v:.1e}"
    if a < 0.01:
        return f"{v:.4f}"
    return f"{v:.3f}" if a < 1 else f"{v:.2f}"


def chart_rows(width: int, height: int, loss: Series, lr: Series | None = None, *, x_max: int = 0,
               last_n: int = 0, epoch_marks: list[int] = (), compare: Series | None = None,
               smooth: float = 0.05, label_w: int = 9, y_range: tuple[float, float] | None = None,
               val: Series | None = None) -> tuple[list[list[tuple[str, int]]], tuple[float, float]]:
    """The whole chart as styled rows: loss (raw band + smoothed line + compare) on top, LR below,
    x axis last. ``x_max`` (the run's total steps) keeps the x scale still while steps arrive,
    so a new step only changes the right edge; ``last_n`` zooms to the last N steps. The loss
    axis snaps to round bounds and keeps ``y_range`` (the previous one) while the data fits it,
    for the same reason. Returns (rows, the y range used)."""
    width, height = max(label_w + 4, width), max(4, height)
    plot_w = width - label_w
    lr_h = 0 if lr is None or not lr.values else max(2, height // 5)
    loss_h = height - 1 - lr_h
    n = min(len(loss.steps), len(loss.values))
    last = loss.steps[n - 1] if n else 0
    lo_x = max(0, last - last_n) if last_n else 0
    hi_x = max(last, lo_x + 1) if last_n else max(x_max, last, 1)
    cw = plot_w * 2

    def col(step: float) -> int:
        return min(cw - 1, max(0, int((step - lo_x) * (cw - 1) / max(1, hi_x - lo_x))))

    start = _first_index(loss.steps, lo_x, n)
    xs, raw = loss.steps[start:n], loss.values[start:n]
    sm = ema(loss.values[:n], smooth)[start:] if n else []
    cmp_pts: list[tuple[int, float]] = []
    if compare is not None and compare.steps:
        cs = ema(compare.values, smooth)
        cmp_pts = [(s, v) for s, v in zip(compare.steps, cs) if lo_x <= s <= hi_x]
    val_pts = [(s, v) for s, v in zip(val.steps, val.values) if lo_x <= s <= hi_x] if val is not None else []
    vals = [v for v in raw if math.isfinite(v)] + [v for _, v in cmp_pts + val_pts if math.isfinite(v)]
    y_lo, y_hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    y_lo, y_hi = nice_range(y_lo, y_hi, y_range)
    canvas = Canvas(plot_w, loss_h)
    dh = loss_h * 4

    def row(v: float) -> int:
        return min(dh - 1, max(0, round((y_hi - v) * (dh - 1) / (y_hi - y_lo))))

    for m in epoch_marks:
        if lo_x <= m <= hi_x:
            canvas.vline(col(m), 0, dh - 1, EPOCH, step=2)
    buckets: dict[int, tuple[float, float]] = {}
    last_sm: dict[int, float] = {}
    for s, v, e in zip(xs, raw, sm):
        c = col(s)
        if math.isfinite(v):
            a, b = buckets.get(c, (v, v))
            buckets[c] = (min(a, v), max(b, v))
        last_sm[c] = e
    for c, (a, b) in buckets.items():
        canvas.vline(c, row(a), row(b), RAW)
    prev = None
    for c, v in sorted(last_sm.items()):
        if math.isfinite(v):
            pt = (c, row(v))
            canvas.line(*(prev or pt), *pt, SMOOTH)
            prev = pt
    prev = None
    for s, v in cmp_pts:
        if math.isfinite(v):
            pt = (col(s), row(v))
            canvas.line(*(prev or pt), *pt, COMPARE)
            prev = pt
    prev = None
    for s, v in val_pts:  # few points (one per validation): joined by straight lines, never smoothed
        if math.isfinite(v):
            pt = (col(s), row(v))
            canvas.line(*(prev or pt), *pt, VAL)
            prev = pt
    rows = []
    for i, r in enumerate(canvas.rows()):
        label = _fmt(y_hi) if i == 0 else _fmt(y_lo) if i == loss_h - 1 else (
            "loss" if i == 1 else "val" if i == 2 and val_pts and loss_h > 3 else "")
        rows.append([(label.rjust(label_w - 1)[: label_w - 1] + "│", AXIS)] + r)
    if lr_h:
        lstart = _first_index(lr.steps, lo_x, len(lr.steps))
        lpts = list(zip(lr.steps[lstart:], lr.values[lstart:]))
        lmax = max((v for _, v in lpts), default=1.0) or 1.0
        lc = Canvas(plot_w, lr_h)
        ldh = lr_h * 4
        prev = None
        for s, v in lpts:
            pt = (col(s), min(ldh - 1, max(0, round((lmax - v) * (ldh - 1) / lmax))))
            lc.line(*(prev or pt), *pt, LR)
            prev = pt
        for i, r in enumerate(lc.rows()):
            label = _fmt(lmax) if i == 0 else ("lr" if i == 1 else "")
            rows.append([(label.rjust(label_w - 1)[: label_w - 1] + "│", AXIS)] + r)
    axis = f"{lo_x}".ljust(plot_w // 2) + f"{hi_x} steps".rjust(plot_w - plot_w // 2)
    rows.append([(" " * (label_w - 1) + "└", AXIS), (axis[:plot_w], AXIS)])
    return rows, (y_lo, y_hi)


def nice_range(lo: float, hi: float, prev: tuple[float, float] | None = None) -> tuple[float, float]:
    """Round bounds around [lo, hi]; ``prev`` is kept while it holds the data and is not more
    than 4x too tall (a scale that moves on every step would redraw the whole chart)."""
    if prev is not None and prev[0] <= lo and hi <= prev[1] and (prev[1] - prev[0]) <= 4 * max(hi - lo, 1e-12):
        return prev
    span = hi - lo
    if span < 1e-12:
        span = abs(hi) * 0.1 or 1.0
    step = 10 ** math.floor(math.log10(span / 4))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= 8:
            step *= m
            break
    if hi == lo:
        return lo - step, hi + step
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def _first_index(steps: list[int], lo: int, n: int) -> int:
    import bisect

    return bisect.bisect_left(steps, lo, 0, n)
