"""Checkbox and radio button whose state shows without colour (256-colour terminals, monochrome
themes, screen readers of the text): ``▐X▌`` when on, ``▐ ▌`` when off, instead of an ``X`` that
only changes colour."""

from __future__ import annotations

from textual.widgets import Checkbox as _Checkbox
from textual.widgets import RadioButton as _RadioButton


class Checkbox(_Checkbox):
    ON = "X"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = self.ON if self.value else " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.ON if self.value else " "
        super().watch_value()


class RadioButton(_RadioButton):
    ON = "●"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.BUTTON_INNER = self.ON if self.value else " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = self.ON if self.value else " "
        super().watch_value()
