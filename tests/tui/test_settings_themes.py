"""Settings file, theme files, thumbnails, and the import boundary: no Pilot needed except for themes."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

from PIL import Image

from loratui.tui.services.settings import Settings, config_dir, load_settings, save_settings, settings_path
from loratui.tui.services.themes import load_themes
from loratui.tui.services.thumbnails import ThumbnailCache

from .helpers import make_app, make_dataset, wait_loaded


def test_config_dir_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == str(tmp_path / "cfg")
    assert settings_path() == str(tmp_path / "cfg" / "settings.toml")


def test_settings_round_trip(tmp_path):
    path = str(tmp_path / "s.toml")
    assert load_settings(path) == (Settings(), [])
    assert save_settings(Settings(theme="loratui-light", images="halfcell", sort="tags"), path) is None
    s, problems = load_settings(path)
    assert (s.theme, s.images, s.sort, problems) == ("loratui-light", "halfcell", "tags", [])


def test_corrupt_settings_file_falls_back_with_a_message(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("theme = [unclosed", encoding="utf-8")
    s, problems = load_settings(str(path))
    assert s == Settings()
    assert len(problems) == 1 and str(path) in problems[0] and "default settings" in problems[0]


def test_bad_values_and_unknown_keys_are_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('images = "hologram"\ncolour = "red"\ntheme = "loratui-light"\n', encoding="utf-8")
    s, problems = load_settings(str(path))
    assert s.images == "auto" and s.theme == "loratui-light"
    assert any("images" in p and "hologram" in p for p in problems)
    assert any("unknown setting `colour`" in p for p in problems)


def test_builtin_themes_load():
    themes, problems = load_themes()
    names = {t.name for t in themes}
    assert {"loratui-dark", "loratui-light", "loratui-high-contrast"} <= names
    assert problems == []
    assert {t.name: t.dark for t in themes}["loratui-light"] is False


def test_user_theme_and_broken_theme(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    (cfg / "themes").mkdir(parents=True)
    (cfg / "themes" / "mine.toml").write_text('primary = "#ff8800"\ndark = true\n', encoding="utf-8")
    (cfg / "themes" / "broken.json").write_text('{"primary": "#fff", "sparkle": 1}', encoding="utf-8")
    monkeypatch.setenv("LORATUI_CONFIG_DIR", str(cfg))
    themes, problems = load_themes()
    assert "mine" in {t.name for t in themes}
    assert len(problems) == 1 and "broken.json" in problems[0] and "sparkle" in problems[0]


async def test_theme_switch_is_saved(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        assert app.theme == "loratui-dark"
        await pilot.press("ctrl+t")
        assert app.theme != "loratui-dark"
        chosen = app.theme
    with open(settings_path(), "rb") as f:
        assert tomllib.load(f)["theme"] == chosen


async def test_theme_argument_wins_and_persists(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root, theme="loratui-high-contrast")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        assert app.theme == "loratui-high-contrast"
    assert load_settings()[0].theme == "loratui-high-contrast"


async def test_unknown_theme_falls_back_with_a_notification(tmp_path):
    root = make_dataset(tmp_path / "ds")
    app = make_app(root, theme="no-such-theme")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_loaded(app, pilot)
        assert app.theme == "loratui-dark"
        assert any("no-such-theme" in n.message for n in app._notifications)


def test_thumbnail_cache_downscales_and_reuses(tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (2000, 1000), (200, 10, 10)).save(big)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    cache = ThumbnailCache(capacity=1)
    t = cache.get(str(big))
    assert (t.facts.width, t.facts.height, t.facts.aspect) == (2000, 1000, "2.00")
    assert max(t.image.size) <= 384
    assert cache.get(str(big)) is t and cache.hits == 1
    bad = cache.get(str(empty))
    assert bad.image is None and bad.facts.error == "empty file"
    assert len(cache) == 1  # LRU capacity respected


def test_tui_import_stays_light():
    """Importing the app must not pull in torch, diffusers, onnxruntime... (start-up time)."""
    code = ("import sys, loratui.tui.app, loratui.tui.screens.dataset, loratui.tui.screens.tag_frequency;"
            "bad = [m for m in ('torch', 'diffusers', 'transformers', 'peft', 'onnxruntime', 'accelerate', 'numpy')"
            " if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_tagger_vocabulary_feeds_autocomplete(tmp_path, monkeypatch):
    models = __import__("pytest").importorskip("loratui.tagging.models")
    d = tmp_path / "models" / models.DEFAULT_MODEL
    d.mkdir(parents=True)
    (d / "model.onnx").write_bytes(b"stand-in")
    (d / "selected_tags.csv").write_text(
        "tag_id,name,category,count\n1,general,9,1\n2,long_hair,0,5\n3,^_^,0,1\n4,hatsune_miku,4,1\n",
        encoding="utf-8")
    monkeypatch.setenv("LORATUI_MODELS_DIR", str(tmp_path / "models"))
    from loratui.tui.services.tag_vocabulary import TagVocabulary, tagger_vocabulary

    tags = tagger_vocabulary()
    assert tags == ["long hair", "^_^", "hatsune miku"]
    vocab = TagVocabulary()
    vocab.add_extra(tags)
    assert vocab.complete("long") == [("long hair", 0)]
