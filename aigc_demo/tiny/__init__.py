"""Tiny random-weight models built from configs, saved with ``save_pretrained``.

They go through exactly the same ``from_pretrained`` path as real checkpoints, run in
seconds on a CPU and need no network. Their output is noise: they test the plumbing.
"""

from __future__ import annotations

import importlib
import os
import shutil
import threading
from pathlib import Path

_BUILDERS = {"text": "text", "image": "image", "audio": "audio", "video": "video"}
_lock = threading.Lock()
_DONE_MARKER = ".tiny-complete"


def default_cache_dir() -> Path:
    base = os.environ.get("AIGC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "aigc-studio"
    )
    return Path(base) / "tiny"


def tiny_model_path(modality: str, cache_dir: Path | None = None) -> Path:
    """Build (once) and return the folder of the tiny model for ``modality``."""
    if modality not in _BUILDERS:
        raise ValueError(f"no tiny model for modality {modality!r}")
    folder = Path(cache_dir or default_cache_dir()) / modality
    with _lock:
        if not (folder / _DONE_MARKER).exists():
            if folder.exists():
                shutil.rmtree(folder)
            building = folder.with_name(folder.name + ".building")
            shutil.rmtree(building, ignore_errors=True)
            builder = importlib.import_module(f"aigc_demo.tiny.{_BUILDERS[modality]}")
            builder.build(building)
            (building / _DONE_MARKER).write_text("ok\n")
            building.rename(folder)
    return folder
