"""Per-image training loss: the loss of each image averaged over its last few appearances, so a run
can say which images it struggles with most (often badly captioned or off-concept) and least.
"""

from __future__ import annotations

from collections import deque

WINDOW = 5
"""Appearances averaged per image (recent ones: the model changes as it trains)."""


class ImageLosses:
    def __init__(self, window: int = WINDOW):
        self.window = window
        self.recent: dict[str, deque] = {}

    def add(self, paths: list[str], losses: list[float]) -> None:
        for p, v in zip(paths, losses):
            self.recent.setdefault(p, deque(maxlen=self.window)).append(float(v))

    def table(self) -> list[dict]:
        """[{path, loss, n}] hardest first."""
        rows = [{"path": p, "loss": round(sum(v) / len(v), 6), "n": len(v)} for p, v in self.recent.items() if v]
        return sorted(rows, key=lambda r: (-r["loss"], r["path"]))

    def state_dict(self) -> dict:
        return {p: list(v) for p, v in self.recent.items()}

    def load_state_dict(self, st: dict) -> None:
        self.recent = {str(p): deque((float(x) for x in v), maxlen=self.window) for p, v in st.items()}
