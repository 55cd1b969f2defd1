"""Theme files (TOML or JSON) from the repository's ``themes/`` folder and the user's config dir.

Each file holds the fields of ``textual.theme.Theme``. A broken file is skipped with a message,
never fatal.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from textual.theme import Theme

from loratui.tui.services.settings import config_dir

DEFAULT_THEME = "loratui-dark"
_FIELDS = {"name", "primary", "secondary", "warning", "error", "success", "accent", "foreground",
           "background", "surface", "panel", "boost", "dark", "luminosity_spread", "text_alpha", "variables"}


def theme_dirs() -> list[Path]:
    """Built-in themes first, then the user's (a user file may replace a built-in by name)."""
    dirs = []
    builtin = Path(__file__).resolve().parents[3] / "themes"
    if builtin.is_dir():
        dirs.append(builtin)
    dirs.append(Path(config_dir()) / "themes")
    return dirs


def load_theme_file(path: Path) -> Theme:
    """Parse one theme file; raises ValueError with the file name on any problem."""
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot be read ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table of theme fields")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValueError(f"{path}: unknown theme field(s) {', '.join(unknown)}")
    data.setdefault("name", path.stem)
    if "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least `primary`")
    try:
        return Theme(**data)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from None


def load_themes() -> tuple[list[Theme], list[str]]:
    """Every theme found, and a message for each file that could not be used."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for d in theme_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.iterdir()):
            if path.suffix not in (".toml", ".json"):
                continue
            try:
                t = load_theme_file(path)
            except ValueError as e:
                problems.append(str(e))
                continue
            themes[t.name] = t
    return list(themes.values()), problems
