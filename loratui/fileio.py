"""Writing a whole file so that readers see either the old one or the new one, never half.

Caption files have their own writer (``loratui.dataset.caption_file``: permissions, symlinks,
changed-outside checks); everything else loratui writes (configs, journal records, caches, run
records, LoRA files) goes through ``write_atomic``.
"""

from __future__ import annotations

import os
import tempfile


def write_atomic(path: str, data: bytes | str, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    ``fsync=True`` also flushes the data to disk before the rename (records that must survive a
    power loss: the edit journal, finished LoRA files). The folder is created if needed; on any
    error the temporary file is removed and the exception propagates.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
