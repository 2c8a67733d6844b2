"""Where the app's files are: the shipped assets, collision-free output names, atomic writes."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ASSETS_DIR = Path(__file__).resolve().parent.parent.parent / "assets"

def new_output_path(out_dir: Path | None, modality: str, suffix: str) -> Path:
    """A collision-free file name under ``out_dir`` (created if needed)."""
    folder = Path(out_dir) if out_dir is not None else Path("outputs")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return folder / f"{modality}-{stamp}-{uuid.uuid4().hex[:10]}{suffix}"


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path with the same suffix; rename it to ``final`` on success.

    A crash mid-write leaves only a hidden ``.tmp`` file, never a partial ``final``.
    """
    final = Path(final)
    tmp = final.with_name(f".{final.stem}.tmp{final.suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
