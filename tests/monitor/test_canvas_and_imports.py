"""The braille chart (pure) and the import boundary of the runs package and the monitor."""

from __future__ import annotations

import json
import subprocess
import sys

from loratui.tui.screens.monitor.canvas import COMPARE, EPOCH, LR, RAW, SMOOTH, Canvas, Series, chart_rows, ema, nice_range


def test_canvas_dots_and_layers():
    c = Canvas(2, 1)
    c.plot(0, 0, RAW)
    c.plot(1, 3, SMOOTH)
    c.plot(3, 0, EPOCH)
    rows = c.rows()
    assert rows == [[("⢁", SMOOTH), ("⠈", EPOCH)]]
    c.plot(99, 99, RAW)  # off the canvas: ignored


def text(rows):
    return ["".join(t for t, _ in r) for r in rows]


def test_chart_has_loss_lr_epochs_compare_and_a_still_x_scale():
    steps = list(range(1, 101))
    loss = [1 / (1 + s / 20) for s in steps]
    rows, yr = chart_rows(60, 16, Series(steps, loss), Series(steps, [1e-4] * 100), x_max=400, epoch_marks=[50],
                          compare=Series(steps, [v * 1.1 for v in loss]))
    layers = {lay for r in rows for _, lay in r}
    assert {RAW, SMOOTH, LR, EPOCH, COMPARE} <= layers
    assert text(rows)[-1].rstrip().endswith("400 steps")
    # one more step changes only the right edge of the chart
    rows2, yr2 = chart_rows(60, 16, Series(steps + [101], loss + [0.16]), Series(steps + [101], [1e-4] * 101),
                            x_max=400, epoch_marks=[50], compare=Series(steps, [v * 1.1 for v in loss]), y_range=yr)
    assert yr2 == yr
    for a, b in zip(text(rows), text(rows2)):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        assert not diff or min(diff) > 9 + 10
    zoomed, _ = chart_rows(60, 16, Series(steps, loss), None, last_n=20)
    assert text(zoomed)[-1].split()[0].endswith("80")


def test_nice_range_keeps_a_range_that_still_fits():
    lo, hi = nice_range(0.123, 0.871)
    assert lo <= 0.123 and hi >= 0.871 and (hi - lo) < 1.5
    assert nice_range(0.2, 0.8, (lo, hi)) == (lo, hi)
    assert nice_range(0.05, 0.8, (lo, hi)) != (lo, hi)
    assert nice_range(0.5, 0.5)[0] < 0.5 < nice_range(0.5, 0.5)[1]
    assert ema([1, 0, 0], 0.5) == [1, 0.5, 0.25]


def test_runs_and_monitor_import_nothing_heavy():
    code = ("import json, sys, loratui.runs, loratui.runs.supervisor, loratui.tui.screens.monitor, loratui.cli.cmd_runs, "
            "loratui.cli.cmd_attach, loratui.cli.cmd_stop, loratui.cli.cmd_resume, loratui.cli.cmd_logs; "
            "heavy = ('torch', 'diffusers', 'transformers', 'onnxruntime', 'accelerate', 'peft', 'pynvml'); "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == []
    code = "import json, sys, loratui.runs; print(json.dumps('textual' in sys.modules))"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert json.loads(p.stdout.strip()) is False  # the runs package is a plain library
