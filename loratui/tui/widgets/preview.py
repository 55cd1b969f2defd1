"""The preview pane: the selected image (textual-image) and its facts.

Decoding happens on the thumbnail loader's thread (services/thumbnails.ThumbnailLoader): each move
of the cursor supersedes the request before it, so holding an arrow key decodes only the image the
cursor stops on (and the one in flight when it started, whose result is dropped); thumbnails are
cached (LRU) by path, mtime and size. Once the cursor stops, the loader decodes the images just
above and below it into the cache, so stepping through images shows each one's picture and facts
in the cursor's own frame (from the cache, then confirmed unchanged by the loader's stat). The
image's name and its facts are two fixed one-line TextLines updated in place (no layout pass, no
markup to parse); the border title stays "Preview", since Textual repaints the whole pane (the
picture too) whenever a border title changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from loratui.tui.services.thumbnails import Thumbnail, ThumbnailCache, ThumbnailLoader
from loratui.tui.widgets.image_list import human_size
from loratui.tui.widgets.text_line import Part, TextLine


def image_widget_class(mode: str):
    """The textual-image widget for a mode (auto, kitty, sixel, halfcell); None for `none`."""
    if mode == "none":
        return None
    import textual_image.widget as tiw

    return {"kitty": tiw.TGPImage, "sixel": tiw.SixelImage, "halfcell": tiw.HalfcellImage}.get(mode, tiw.Image)


class Preview(Vertical):
    DEFAULT_CSS = """
    Preview { height: 1fr; }
    Preview > #picture { height: 1fr; width: 1fr; align: center middle; }
    Preview > #picture > * { width: auto; height: 100%; }
    Preview > #picture > .placeholder { width: 1fr; height: 1; }
    Preview > #name { height: 1; }
    Preview > #facts { height: 1; color: $text-muted; }
    """

    class Loaded(Message):
        def __init__(self, key: object, thumb: Thumbnail, mask: bool = False) -> None:
            super().__init__()
            self.key = key
            self.thumb = thumb
            self.mask = mask

    def __init__(self, mode: str, cache: ThumbnailCache, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = mode
        self.cache = cache
        self.border_title = "Preview"
        self._name = ""
        self._placeholder: str | None = ""
        self._key: object = None
        self._path: str | None = None
        self.loader = ThumbnailLoader(cache, self._deliver)
        self._image_cls = image_widget_class(mode)
        self._shown: Thumbnail | None = None
        """The thumbnail whose facts and picture are on screen."""
        self.show_mask = False
        """Show the image's loss mask (``m`` on the dataset screen) instead of the image."""

    def compose(self) -> ComposeResult:
        with Vertical(id="picture"):
            if self._image_cls is not None:
                yield self._image_cls(None, id="image")
            else:
                yield Static("", id="image", classes="placeholder")
        yield TextLine(id="name")
        yield TextLine(id="facts")

    def show(self, key: object, abs_path: str | None, label: str = "", prefetch: Sequence[str] = ()) -> None:
        """Show the image at ``abs_path`` (None: clear); ``prefetch``: the images next to it, decoded
        ahead into the cache."""
        if key == self._key and abs_path == self._path:
            return
        self._key, self._path = key, abs_path
        self._set_name(label if abs_path else "")
        if abs_path is None:
            self.loader.cancel()
            self.query_one("#facts", TextLine).update("")
            self._set_image(None)
            self._shown = None
            return
        known = self.cache.peek(abs_path, self.show_mask)
        if known is not None:
            # decoded before (or prefetched): the facts in the cursor's own frame, the picture
            # (costlier to draw, sixel or kitty encoding) in the frame after, so the cursor never waits
            self._show_thumb(known, picture_later=self._image_cls is not None)
        else:
            self.query_one("#facts", TextLine).update("…")
        # the loader checks the file on its thread (stat): a changed file is decoded and shown anew
        self.loader.request(key, abs_path, self.show_mask, prefetch)

    def _set_name(self, name: str) -> None:
        if name != self._name:
            self._name = name
            self.query_one("#name", TextLine).update(name)

    def toggle_mask(self) -> bool:
        """Switch between the image and its loss mask; reloads the current image. Returns the new state."""
        self.show_mask = not self.show_mask
        if self._path is not None:
            self.query_one("#facts", TextLine).update("…")
            self._shown = None
            self.loader.request(self._key, self._path, self.show_mask)
        return self.show_mask

    def on_unmount(self) -> None:
        self.loader.close()

    def _deliver(self, key, thumb: Thumbnail, mask: bool) -> None:
        """Called on the loader's thread: hand the thumbnail to the UI thread."""
        self.post_message(self.Loaded(key, thumb, mask))

    def on_preview_loaded(self, event: Loaded) -> None:
        event.stop()
        if event.key != self._key or event.mask != self.show_mask:
            return  # the cursor moved on, or the mask was toggled meanwhile
        self._show_thumb(event.thumb)

    def _show_thumb(self, thumb: Thumbnail, picture_later: bool = False) -> None:
        if thumb is self._shown:
            return  # already on screen (shown from the cache, then confirmed by the loader)
        self._shown = thumb
        facts = thumb.facts
        bits: list[Part] = []
        if self.show_mask:  # in mask view, why there is no mask matters more than the size: it goes first
            bits.append((f"mask ({facts.mask_source})" if facts.mask_source else "mask", False))
            if facts.error:
                bits.append((facts.error, True))
        if facts.width:
            bits.append((f"{facts.width}×{facts.height} px  aspect {facts.aspect}", False))
        bits.append((human_size(facts.file_size), False))
        if facts.error and not self.show_mask:
            bits.append((facts.error, True))
        parts: list[Part] = []
        for bit in bits:
            if parts:
                parts.append(("  ", False))
            parts.append(bit)
        self.query_one("#facts", TextLine).update(*parts)
        if picture_later:
            self.call_after_refresh(self._set_picture_of, thumb)
        else:
            self._set_image(thumb.image)

    def _set_picture_of(self, thumb: Thumbnail) -> None:
        if thumb is self._shown:  # unless the cursor moved on meanwhile
            self._set_image(thumb.image)

    def _set_image(self, image) -> None:
        widget = self.query_one("#image")
        if self._image_cls is None:
            text = "" if image is None else "[dim](image previews off: --images none)[/]"
            if text != self._placeholder:
                self._placeholder = text
                widget.update(text, layout=False)
        else:
            widget.image = image
