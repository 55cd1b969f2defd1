"""User settings for the TUI: a small TOML file in the platformdirs config dir.

No Textual here. A missing file means defaults; a corrupt file or a bad value also means defaults
for what could not be read, and ``load_settings`` says why so the app can show a notification
(the file is left alone until the user changes a setting).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, fields

from loratui.fileio import write_atomic

SETTINGS_FILE = "settings.toml"
IMAGE_MODES = ("auto", "kitty", "sixel", "halfcell", "none")
SORT_MODES = ("name", "tags", "modified")
TAG_STYLES = ("auto", "spaces", "underscores", "off")


def config_dir() -> str:
    """Where loratui keeps user settings and user themes (``$LORATUI_CONFIG_DIR`` overrides)."""
    override = os.environ.get("LORATUI_CONFIG_DIR")
    if override:
        return override
    import platformdirs

    return platformdirs.user_config_dir("loratui", appauthor=False)


@dataclass
class Settings:
    """Everything the TUI remembers between sessions."""

    theme: str = "loratui-dark"
    """Colour theme name: a file in ``themes/`` or ``<config dir>/themes/``, or a Textual built-in."""
    images: str = "auto"
    """How previews are drawn: auto (probe the terminal), kitty, sixel, halfcell or none."""
    sort: str = "name"
    """Image list order: name, tags (tag count) or modified (file time)."""
    thumbnail_cache: int = 64
    """How many downscaled previews are kept in memory."""
    tag_style: str = "auto"
    """Typed tags are rewritten to the dataset's style: auto (detect it), spaces, underscores or off."""

    def validate(self) -> list[str]:
        """Reset invalid values to their defaults; returns what was wrong."""
        problems = []
        default = Settings()
        if self.images not in IMAGE_MODES:
            problems.append(f"images = {self.images!r}: expected one of {', '.join(IMAGE_MODES)}")
            self.images = default.images
        if self.sort not in SORT_MODES:
            problems.append(f"sort = {self.sort!r}: expected one of {', '.join(SORT_MODES)}")
            self.sort = default.sort
        if self.tag_style not in TAG_STYLES:
            problems.append(f"tag_style = {self.tag_style!r}: expected one of {', '.join(TAG_STYLES)}")
            self.tag_style = default.tag_style
        if not isinstance(self.thumbnail_cache, int) or not 1 <= self.thumbnail_cache <= 10_000:
            problems.append(f"thumbnail_cache = {self.thumbnail_cache!r}: expected a number from 1 to 10000")
            self.thumbnail_cache = default.thumbnail_cache
        if not isinstance(self.theme, str) or not self.theme:
            problems.append(f"theme = {self.theme!r}: expected a theme name")
            self.theme = default.theme
        return problems


def settings_path() -> str:
    return os.path.join(config_dir(), SETTINGS_FILE)


def load_settings(path: str | None = None) -> tuple[Settings, list[str]]:
    """Read the settings file. Never raises: returns defaults plus messages naming the problem."""
    path = path or settings_path()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return Settings(), []
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        return Settings(), [f"{path}: cannot be read ({e}); using default settings"]
    known = {f.name: f for f in fields(Settings)}
    values = {}
    problems = []
    for key, value in data.items():
        if key not in known:
            problems.append(f"{path}: unknown setting `{key}` ignored")
            continue
        values[key] = value
    s = Settings(**values)
    problems += [f"{path}: {p}; using the default" for p in s.validate()]
    return s, problems


def save_settings(s: Settings, path: str | None = None) -> str | None:
    """Write the settings atomically; returns an error message instead of raising."""
    import tomli_w

    path = path or settings_path()
    try:
        write_atomic(path, tomli_w.dumps(asdict(s)))
    except OSError as e:
        return f"{path}: settings not saved ({e.strerror or e})"
    return None
