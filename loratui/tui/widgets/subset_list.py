"""The subset pane: "All images" and one line per kohya subset folder (name, repeats, images)."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

ALL = "all"


class SubsetList(OptionList):
    """Highlighting a line restricts the image list to that subset."""

    class Chosen(Message):
        def __init__(self, subset: int | None) -> None:
            super().__init__()
            self.subset = subset

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Subsets"

    def show(self, dataset) -> None:
        highlighted = self.highlighted
        self.clear_options()
        self.add_option(Option(f"All images  [dim]{len(dataset.images):,}[/]", id=ALL))
        for s in dataset.subsets:
            warn = " [$warning]![/]" if s.note else ""
            self.add_option(Option(f"{s.name}{warn}\n  [dim]×{s.repeats}  {s.image_count:,} img[/]", id=f"s{s.index}"))
        self.highlighted = highlighted if highlighted is not None and highlighted < self.option_count else 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        oid = event.option.id
        self.post_message(self.Chosen(None if oid == ALL or oid is None else int(oid[1:])))
