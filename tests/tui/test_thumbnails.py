"""The thumbnail loader: a cursor held down decodes only what it stops on; the LRU saves decodes.

No timing: a decoder that blocks on an event shows exactly which requests were decoded."""

from __future__ import annotations

import threading
import time

from loratui.tui.services.thumbnails import ImageFacts, Thumbnail, ThumbnailCache, ThumbnailLoader


def wait_for(cond, what: str) -> None:
    """Poll ``cond`` (no fixed sleep decides anything; the bound only stops a hung test)."""
    deadline = time.monotonic() + 30
    while not cond():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


class BlockingDecoder:
    """Records every decode; the first one waits until ``release`` is set."""

    def __init__(self, with_image: bool = True) -> None:
        self.with_image = with_image
        self.calls: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, path: str, size: int, mask: bool) -> Thumbnail:
        self.calls.append(path)
        self.started.set()
        self.release.wait(30)
        return Thumbnail(ImageFacts(1, 1, size), path if self.with_image else None)


def images(tmp_path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        p = tmp_path / f"{i:03}.png"
        p.write_bytes(b"x" * (i + 1))
        paths.append(str(p))
    return paths


def make_loader(tmp_path, n: int, capacity: int = 64):
    decoder = BlockingDecoder()
    shown: list = []
    loader = ThumbnailLoader(ThumbnailCache(capacity, decode=decoder), lambda k, t, m: shown.append((k, t.image)))
    return loader, decoder, shown, images(tmp_path, n)


def test_held_cursor_decodes_only_the_one_in_flight_and_the_last(tmp_path):
    loader, decoder, shown, paths = make_loader(tmp_path, 10)
    try:
        loader.request(0, paths[0])
        wait_for(decoder.started.is_set, "the first decode started")
        for i in range(1, 10):  # the cursor moves on nine times while image 0 decodes
            loader.request(i, paths[i])
        decoder.release.set()
        wait_for(lambda: loader.idle, "the loader is idle")
        assert decoder.calls == [paths[0], paths[9]]
        assert shown == [(9, paths[9])]  # image 0's result came back superseded: dropped
        assert loader.discarded == 1
    finally:
        loader.close()


def test_cache_hit_does_not_decode(tmp_path):
    loader, decoder, shown, paths = make_loader(tmp_path, 2)
    decoder.release.set()
    try:
        for key in (0, 1, 0, 1, 0):
            loader.request(key, paths[key])
            wait_for(lambda: loader.idle, "the loader is idle")
        assert decoder.calls == [paths[0], paths[1]]
        assert [k for k, _ in shown] == [0, 1, 0, 1, 0]
        assert loader.cache.hits == 3
    finally:
        loader.close()


def test_lru_keeps_the_most_recent_and_redecodes_a_changed_file(tmp_path):
    loader, decoder, _shown, paths = make_loader(tmp_path, 3, capacity=2)
    decoder.release.set()
    cache = loader.cache
    cache.get(paths[0])
    cache.get(paths[1])
    cache.get(paths[0])  # 0 is now the most recent
    cache.get(paths[2])  # evicts 1
    assert len(cache) == 2
    cache.get(paths[0])
    assert decoder.calls == [paths[0], paths[1], paths[2]]
    cache.get(paths[1])
    assert decoder.calls[-1] == paths[1]
    with open(paths[1], "ab") as fh:  # changed on disk: a new key, decoded again
        fh.write(b"more")
    cache.get(paths[1])
    assert decoder.calls.count(paths[1]) == 3
    loader.close()


def test_cancel_and_close_deliver_nothing(tmp_path):
    loader, decoder, shown, paths = make_loader(tmp_path, 2)
    loader.request(0, paths[0])
    wait_for(decoder.started.is_set, "the first decode started")
    loader.cancel()  # the cursor left the images (an empty filter): the in-flight result is dropped
    decoder.release.set()
    wait_for(lambda: loader.idle, "the loader is idle")
    assert shown == []
    loader.close()
    loader.request(1, paths[1])
    assert decoder.calls == [paths[0]] and shown == []


async def test_holding_down_in_the_dataset_screen_decodes_the_first_and_last_only(tmp_path):
    from PIL import Image

    from loratui.tui.widgets.image_list import ImageList
    from loratui.tui.widgets.preview import Preview
    from loratui.tui.widgets.text_line import TextLine

    from .helpers import make_app, until, wait_loaded

    sub = tmp_path / "5_thing"
    sub.mkdir()
    for i in range(12):
        Image.new("RGB", (40 + i, 30), "white").save(sub / f"{i:02}.png")
        (sub / f"{i:02}.txt").write_text("thing", encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        preview = app.screen.query_one(Preview)
        facts = preview.query_one("#facts", TextLine)
        await until(pilot, lambda: "40×30" in facts.text)
        decoder = BlockingDecoder(with_image=False)
        preview.cache._decode = decoder
        images_list = app.screen.query_one(ImageList)
        images_list.focus()
        await pilot.press("down")
        await until(pilot, decoder.started.is_set)
        for _ in range(10):  # the cursor keeps moving while image 01 decodes
            await pilot.press("down")
        assert images_list.cursor == 11
        decoder.release.set()
        await until(pilot, lambda: preview.loader.idle)
        # decoded: the one in flight when the key was held (image 02, prefetched beside 01, which
        # the first image's neighbour prefetch had decoded already), the image the cursor stopped
        # on, and then its neighbour ahead of a next move; none of those it passed over
        assert [p.rsplit("/", 1)[1] for p in decoder.calls] == ["02.png", "11.png", "10.png"]
        await until(pilot, lambda: "1×1 px" in facts.text)  # the blocking decoder's facts
        assert preview._path.endswith("11.png")
        # stepping back shows the prefetched neighbour at once, in the cursor's own frame
        await pilot.press("up")
        assert facts.text.startswith("1×1 px") and preview._path.endswith("10.png")


def test_prefetch_decodes_the_neighbours_unless_a_new_request_comes(tmp_path):
    loader, decoder, shown, paths = make_loader(tmp_path, 4)
    decoder.release.set()
    try:
        loader.request(1, paths[1], prefetch=[paths[2], paths[0]])
        wait_for(lambda: loader.idle, "the loader is idle")
        assert decoder.calls == [paths[1], paths[2], paths[0]]
        assert [k for k, _ in shown] == [1]  # prefetched thumbnails are cached, never delivered
        assert loader.cache.peek(paths[2]) is not None and loader.cache.peek(paths[3]) is None
        assert loader.cache.peek(paths[2], mask=True) is None
    finally:
        loader.close()
    (tmp_path / "b").mkdir()
    loader, decoder, shown, paths = make_loader(tmp_path / "b", 4)
    try:
        loader.request(0, paths[0], prefetch=[paths[1], paths[2]])
        wait_for(decoder.started.is_set, "the first decode started")
        loader.request(3, paths[3])  # the cursor moved on before the prefetch began
        decoder.release.set()
        wait_for(lambda: loader.idle, "the loader is idle")
        assert decoder.calls == [paths[0], paths[3]]
    finally:
        loader.close()


def test_peek_forgets_evicted_thumbnails(tmp_path):
    loader, decoder, _shown, paths = make_loader(tmp_path, 3, capacity=2)
    decoder.release.set()
    cache = loader.cache
    for p in paths:
        cache.get(p)
    assert cache.peek(paths[0]) is None  # evicted
    assert cache.peek(paths[2]) is cache.get(paths[2])
    loader.close()


async def test_a_cached_picture_follows_the_cursor_after_its_frame(tmp_path):
    """With pictures on, stepping back to an image shows its facts at once and its picture in the
    next frame (drawing a picture never holds up the cursor's frame)."""
    from PIL import Image

    from loratui.tui.widgets.image_list import ImageList
    from loratui.tui.widgets.preview import Preview
    from loratui.tui.widgets.text_line import TextLine

    from .helpers import make_app, until, wait_loaded

    sub = tmp_path / "5_thing"
    sub.mkdir()
    for i, colour in enumerate(["red", "blue", "green"]):
        Image.new("RGB", (40 + i, 30), colour).save(sub / f"{i}.png")
        (sub / f"{i}.txt").write_text("thing", encoding="utf-8")
    app = make_app(tmp_path, images="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        preview = app.screen.query_one(Preview)
        facts = preview.query_one("#facts", TextLine)
        picture = preview.query_one("#image")
        await until(pilot, lambda: "40×30" in facts.text and picture.image is not None)
        first = picture.image
        app.screen.query_one(ImageList).focus()
        await pilot.press("down")
        await until(pilot, lambda: "41×30" in facts.text and picture.image is not first)
        await until(pilot, lambda: preview.loader.idle)
        await pilot.press("up")
        assert "40×30" in facts.text  # from the cache, in the cursor's frame
        await until(pilot, lambda: picture.image is first)
