"""Where the app's files are: the shipped assets, collision-free output names, atomic writes,
per-run staging folders (a failed run leaves no file behind) and a full disk recognised."""

from __future__ import annotations

import errno
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ASSETS_DIR = Path(__file__).resolve().parent.parent.parent / "assets"
STAGING_PREFIX = ".run-"  # outputs/.run-<id>/: a run's files until it is recorded
BUNDLES_FOLDER = "bundles"  # outputs/bundles/: "Download run" zips, rebuilt on demand (no record of their own)
_DISK_FULL_TEXTS = ("no space left on device", "database or disk is full", "disk quota exceeded")

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


def staging_dir(outputs: Path) -> Path:
    """A fresh folder inside ``outputs`` for one run's files (see :func:`publish`)."""
    folder = Path(outputs) / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    return folder


def publish(files: list[Path], outputs: Path) -> list[Path]:
    """Move a finished run's files from its staging folder into ``outputs`` (same disk: a rename)."""
    moved = []
    for path in files:
        target = Path(outputs) / Path(path).name
        os.replace(path, target)
        moved.append(target)
    return moved


def remove_files(paths: list[Path]) -> None:
    """Delete files that must not stay (a run that failed before it was recorded)."""
    for path in paths:
        Path(path).unlink(missing_ok=True)


def remove_staging(outputs: Path, min_age: float = 0.0) -> int:
    """Delete the staging folders under ``outputs`` (left by a crash) untouched for ``min_age``
    seconds (their newest file's age; another process sharing the folder may be using a
    younger one); returns how many."""
    now = time.time()
    folders = [p for p in Path(outputs).glob(f"{STAGING_PREFIX}*") if p.is_dir() and now - _touched(p) >= min_age]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(folders)


def _touched(folder: Path) -> float:
    """When anything in ``folder`` was last written (the folder itself when it is empty)."""
    try:
        times = [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
        return max(times) if times else folder.stat().st_mtime
    except OSError:  # removed meanwhile
        return time.time()


def is_disk_full(error: BaseException) -> bool:
    """``error``, or one it came from, says that the disk (or the database) is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(text in str(current).lower() for text in _DISK_FULL_TEXTS):
            return True
        current = current.__cause__ or current.__context__
    return False


def free_mb(path: Path) -> float:
    """Free space (MB) on the disk holding ``path`` (its nearest existing parent)."""
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free / 1e6
