"""The monitor's side panels: saved outputs (open one in the inspector) and samples by epoch."""

from __future__ import annotations

import os

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class OutputsTable(DataTable):
    DEFAULT_CSS = "OutputsTable { height: auto; max-height: 10; border: round $panel; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.border_title = "Outputs (i: inspect)"
        self.paths: list[str] = []

    def on_mount(self) -> None:
        self.add_columns("file", "epoch", "step", "size")

    def show(self, saved: list[dict]) -> None:
        for ev in saved[len(self.paths):]:
            path = str(ev.get("path", ""))
            try:
                size = human_size(os.path.getsize(path))
            except OSError:
                size = "missing"
            self.paths.append(path)
            name = os.path.basename(path)  # outputs are all .safetensors: the suffix would only crowd the panel
            self.add_row(name.removesuffix(".safetensors"), "final" if ev.get("final") else str(ev.get("epoch", "")),
                         str(ev.get("step", "")), size, key=str(len(self.paths) - 1))

    def selected_path(self) -> str | None:
        if not self.paths:
            return None
        return self.paths[min(max(self.cursor_row, 0), len(self.paths) - 1)]

    def reset(self) -> None:
        self.clear()
        self.paths = []


class SamplesPanel(Vertical):
    """The latest samples (prompt and LoRA strength), one epoch at a time; ``[``/``]`` browse."""

    DEFAULT_CSS = """
    SamplesPanel { height: 1fr; border: round $panel; }
    SamplesPanel > #samples-text { height: auto; max-height: 6; }
    SamplesPanel > #samples-image { height: 1fr; width: 1fr; }
    """

    def __init__(self, images: str = "none", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Samples ([ ] epochs, . next)"
        self.images = images
        self.samples: list[dict] = []
        self.epoch: int | None = None
        """The epoch shown; None follows the latest."""
        self.pick = 0
        self._shown = None
        self.headline = ""
        """What is shown, in one line (the narrow screen's summary)."""

    def compose(self) -> ComposeResult:
        yield Static("no samples yet", id="samples-text")
        from loratui.tui.widgets.preview import image_widget_class

        cls = image_widget_class(self.images)
        if cls is not None:
            yield cls(None, id="samples-image")

    def epochs(self) -> list[int]:
        return sorted({int(s.get("epoch", 0) or 0) for s in self.samples})

    def show(self, samples: list[dict]) -> None:
        if len(samples) != len(self.samples):
            self.samples = list(samples)
            self._refresh_view()

    def browse(self, delta: int) -> None:
        eps = self.epochs()
        if not eps:
            return
        cur = self.epoch if self.epoch in eps else eps[-1]
        i = max(0, min(len(eps) - 1, eps.index(cur) + delta))
        self.epoch = None if i == len(eps) - 1 else eps[i]
        self.pick = 0
        self._refresh_view()

    def next_sample(self) -> None:
        self.pick += 1
        self._refresh_view()

    def _refresh_view(self) -> None:
        eps = self.epochs()
        if not eps:
            return
        ep = self.epoch if self.epoch in eps else eps[-1]
        these = [s for s in self.samples if int(s.get("epoch", 0) or 0) == ep]
        self.pick %= max(1, len(these))
        lines = [f"epoch {ep} ({eps.index(ep) + 1}/{len(eps)})" + ("" if self.epoch is not None else " latest")]
        for k, s in enumerate(these):
            mark = "▶" if k == self.pick else " "
            lines.append(f"{mark} @{s.get('strength')}: {escape(str(s.get('prompt', ''))[:60])}")
        path = these[self.pick].get("path") if these else None
        self.headline = f"epoch {ep} ({eps.index(ep) + 1}/{len(eps)})" + (
            f" @{these[self.pick].get('strength')}" if these else "")
        key = (tuple(lines), path)
        if key == self._shown:
            return
        self._shown = key
        image, why = None, ""
        if path and self.images != "none":
            image, why = _load_sample(str(path))
        self.query_one("#samples-text", Static).update("\n".join(lines + ([f"[dim]{escape(why)}[/dim]"] if why else [])))
        if self.images != "none":
            self.query_one("#samples-image").image = image


def _load_sample(path: str):
    """(PIL image, "") or (None, why): a sample that is missing or cannot be decoded is said, not drawn
    (handing the widget a bad path would raise while the screen renders)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy(), ""
    except FileNotFoundError:
        return None, f"image missing: {os.path.basename(path)}"
    except Exception as e:  # noqa: BLE001 - truncated or not an image
        return None, f"cannot read {os.path.basename(path)}: {type(e).__name__}"


class MonitorSummary(Static):
    """The side panels in three lines, for terminals too narrow to show them beside the chart."""

    DEFAULT_CSS = "MonitorSummary { height: 3; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.text = ""

    def show(self, gpu: str, outputs: list[str], samples: str, progress) -> None:
        from rich.text import Text

        from loratui.runs.text import hardest_easiest

        gpu_lines = [line.strip() for line in Text.from_markup(gpu).plain.splitlines() if line.strip()]
        gpu_line = "  ".join(gpu_lines[1:3]) if len(gpu_lines) > 1 else (gpu_lines[0] if gpu_lines else "…")
        out = (f"{len(outputs)}, last {escape(os.path.basename(outputs[-1]).removesuffix('.safetensors'))} (i)"
               if outputs else "none saved yet")
        hard, _ = hardest_easiest(progress, 3) if progress is not None else ([], [])
        hardest = ", ".join(f"{escape(os.path.basename(r['path']))} {r['loss']:.3f}" for r in hard) or "after the first epoch"
        lines = [f"[b]GPU[/b] {escape(gpu_line)}",
                 f"[b]outputs[/b] {out}   [b]samples[/b] {escape(samples) or 'none yet'}",
                 f"[b]hardest[/b] {hardest}" + ("  (w shows them)" if hard else "")]
        text = "\n".join(lines)
        if text != self.text:
            self.text = text
            self.update(text)


class ImageLossPanel(Static):
    """The training images with the highest and lowest recent loss (``image_losses`` events)."""

    DEFAULT_CSS = "ImageLossPanel { height: auto; max-height: 10; border: round $panel; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("per-image loss after the first epoch", id=id)
        self.border_title = "Images by loss (w: show hardest)"
        self.text = ""
        self.hardest: list[str] = []

    def show(self, progress) -> None:
        from rich.markup import escape

        from loratui.runs.text import hardest_easiest

        hard, easy = hardest_easiest(progress, 3)
        self.hardest = [r["path"] for r in progress.image_losses[:10]]
        if not hard:
            return
        lines = ["[b]hardest[/b]"] + [f"{r['loss']:.4f} {escape(os.path.basename(r['path']))}" for r in hard]
        if easy:
            lines += ["[b]easiest[/b]"] + [f"{r['loss']:.4f} {escape(os.path.basename(r['path']))}" for r in easy]
        text = "\n".join(lines)
        if text != self.text:
            self.text = text
            self.update(text)
