"""The health pane: the dataset check's findings grouped, what each means, and one-key actions.

Self-contained: it renders a ``loratui.check.Report`` it is given and posts messages; the host
(the app) decides what they do. Keys: ``enter``/``s`` show the images concerned
(``HealthPane.ShowImages``), ``f`` applies the finding's fix (``HealthPane.FixRequested``),
``r`` asks for a re-check (``HealthPane.RecheckRequested``). ``HealthScreen`` wraps it as a screen;
with ``gate=True`` it is the pre-launch gate and dismisses with True (launch) or False.

Wiring (in the app that owns the dataset)::

    def on_health_pane_show_images(self, m):        # filter the image list to m.image_ids
    def on_health_pane_fix_requested(self, m):      # self.edits.submit(m.finding.fix.label,
                                                    #     lambda: m.finding.fix.apply(self.dataset))
                                                    # then re-run the check (ids change after "exclude")
    def on_health_pane_recheck_requested(self, m):  # pane.set_report(None); run check_dataset in a
                                                    # thread worker (progress -> pane.set_progress
                                                    # via call_from_thread), then pane.set_report(r)
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from loratui.check.findings import ERROR, GROUP_TITLES, WARNING, Finding, Report
from loratui.tui.screens.base import fit_footer

LEVEL_STYLE = {ERROR: ("✗", "bold red"), WARNING: ("!", "yellow"), "note": ("·", "dim")}


class HealthPane(Vertical):
    DEFAULT_CSS = """
    HealthPane { height: 1fr; }
    HealthPane > #health-summary { height: auto; padding: 0 1; }
    HealthPane > OptionList { height: 2fr; scrollbar-gutter: stable; }  /* wrapped lines measured at the width they are drawn at */
    HealthPane > #health-detail { height: 1fr; padding: 0 1; border-top: solid $panel; overflow-y: auto; }
    """
    BINDINGS = [
        Binding("s", "show", "Show images"),
        Binding("f", "fix", "Fix"),
        Binding("r", "recheck", "Re-check"),
    ]

    class ShowImages(Message):
        """Jump to the images a finding concerns (ids of ``Dataset.images`` at check time)."""

        def __init__(self, image_ids: list[int], title: str) -> None:
            super().__init__()
            self.image_ids = image_ids
            self.title = title

    class FixRequested(Message):
        """Apply ``finding.fix`` (``finding.fix.apply(dataset)``), then re-check."""

        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    class RecheckRequested(Message):
        pass

    def __init__(self, report: Report | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report = report
        self._findings: list[Finding] = []
        self._fixed: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Static(id="health-summary", markup=False)
        yield OptionList(id="health-list", markup=False)
        yield Static(id="health-detail", markup=False)

    def on_mount(self) -> None:
        self.set_report(self.report)

    # --- rendering ---------------------------------------------------------------------------
    def set_report(self, report: Report | None) -> None:
        """Show ``report`` (None: "checking…")."""
        self.report = report
        self._fixed.clear()
        ol = self.query_one(OptionList)
        ol.clear_options()
        self._findings = []
        summary = self.query_one("#health-summary", Static)
        if report is None:
            summary.update("checking the dataset…")
            self.query_one("#health-detail", Static).update("")
            return
        summary.update(Text(f"{report.summary()}   s show images · f fix · r re-check",
                            style="bold red" if report.errors else ""))
        options: list[Option] = []
        for group, findings in report.by_group():
            options.append(Option(Text(GROUP_TITLES.get(group, group), style="bold underline"), id=f"g-{group}",
                                   disabled=True))
            for f in findings:
                idx = len(self._findings)
                self._findings.append(f)
                options.append(Option(self._line(f, idx), id=f"f{idx}"))
        if not self._findings:
            options.append(Option(Text("no problems found", style="green"), id="g-none", disabled=True))
        ol.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        if first is not None:
            ol.highlighted = first
        self._show_detail(self.current)

    def set_progress(self, phase: str, done: int, total: int) -> None:
        """While a check runs (``check_dataset(progress=...)``, via ``call_from_thread``)."""
        if self.report is None:
            self.query_one("#health-summary", Static).update(f"checking the dataset… {phase} {done:,}/{total:,}")

    def _line(self, f: Finding, idx: int) -> Text:
        icon, style = LEVEL_STYLE.get(f.level, ("·", ""))
        t = Text.assemble((f"{icon} ", style), f.message)
        if f.fix is not None:
            t.append("  ✓ fixed; r re-checks" if idx in self._fixed else "  [f: fix]",
                     style="green" if idx in self._fixed else "cyan")
        return t

    @property
    def current(self) -> Finding | None:
        ol = self.query_one(OptionList)
        if ol.highlighted is None:
            return None
        opt = ol.get_option_at_index(ol.highlighted)
        if opt.id and opt.id.startswith("f"):
            return self._findings[int(opt.id[1:])]
        return None

    def _show_detail(self, f: Finding | None) -> None:
        out = Text()
        if f is not None:
            out.append(f"{f.level}: {f.message}\n", style=LEVEL_STYLE.get(f.level, ("", ""))[1])
            if f.hint:
                out.append(f"→ {f.hint}\n")
            if f.image_ids:
                out.append(f"s: show the {len(f.image_ids):,} image{'s' if len(f.image_ids) != 1 else ''}\n", style="cyan")
            if f.fix is not None:
                out.append(f"f: {f.fix.label}\n", style="cyan")
            for line in f.detail[:200]:
                out.append(f"  {line}\n", style="dim")
        self.query_one("#health-detail", Static).update(out)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_detail(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_show()

    # --- actions -----------------------------------------------------------------------------
    def action_show(self) -> None:
        f = self.current
        if f is None or not f.image_ids:
            self.notify("no images to show for this finding", severity="warning", timeout=3)
            return
        self.post_message(self.ShowImages(list(f.image_ids), f.message))

    def action_fix(self) -> None:
        f = self.current
        if f is None or f.fix is None:
            self.notify("no one-key fix for this finding", severity="warning", timeout=3)
            return
        idx = self._findings.index(f)
        if f.fix.kind == "exclude":  # previewed first (the app asks Apply/Cancel), then re-checked
            self.post_message(self.FixRequested(f))
            return
        if idx in self._fixed:
            self.notify("already applied; press r to re-check", timeout=3)
            return
        self._fixed.add(idx)
        ol = self.query_one(OptionList)
        ol.replace_option_prompt(f"f{idx}", self._line(f, idx))
        self.post_message(self.FixRequested(f))

    def action_recheck(self) -> None:
        self.post_message(self.RecheckRequested())


class HealthScreen(Screen[bool]):
    """The pane as a screen. ``gate=True``: the pre-launch gate; ``l`` launches when there are no
    errors, ``ctrl+o`` launches despite errors (the explicit override); escape goes back.
    Dismisses with True (launch) or False."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "launch", "Launch"),
        Binding("ctrl+o", "launch_anyway", "Launch anyway"),
        Binding("u", "restore_excluded", "Restore excluded"),
    ]
    DEFAULT_CSS = """
    HealthScreen > #health-gate { height: auto; padding: 0 1; background: $boost; }
    """

    def __init__(self, report: Report | None = None, *, gate: bool = False) -> None:
        super().__init__()
        self.report = report
        self.gate = gate

    def compose(self) -> ComposeResult:
        if self.gate:
            yield Static(self._gate_text(), id="health-gate", markup=False)
        yield HealthPane(self.report)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_resize(self, event) -> None:
        fit_footer(self, event.size.width)

    def _gate_text(self) -> Text:
        r = self.report
        if r is None:
            return Text("checking the dataset before launch…")
        if r.errors:
            return Text(f"{len(r.errors)} error(s) block the launch: fix them, or press ctrl+o to launch anyway "
                        "(escape: back)", style="bold red")
        return Text(f"ready to launch ({len(r.warnings)} warning(s)): press l to launch, escape to go back",
                    style="green" if not r.warnings else "yellow")

    def set_report(self, report: Report) -> None:
        self.report = report
        self.query_one(HealthPane).set_report(report)
        if self.gate:
            self.query_one("#health-gate", Static).update(self._gate_text())
        self.refresh_bindings()

    def check_action(self, action: str, parameters) -> bool | None:
        """Launch keys only in the gate; with errors ``l`` is greyed out and ``ctrl+o`` offered."""
        blocks = self.report is not None and self.report.blocks_launch
        if action == "launch":
            return (None if blocks else True) if self.gate else False
        if action == "launch_anyway":
            return self.gate and blocks
        return True

    def action_back(self) -> None:
        self.dismiss(False)

    def action_restore_excluded(self) -> None:
        self.app.action_restore_excluded()

    def action_launch(self) -> None:
        if self.report is None:
            return
        if self.report.blocks_launch:
            self.notify(f"{len(self.report.errors)} error(s) block the launch; ctrl+o launches anyway",
                        severity="error", timeout=5)
            return
        self.dismiss(True)

    def action_launch_anyway(self) -> None:
        if self.report is not None:
            self.dismiss(True)
