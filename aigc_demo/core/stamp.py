"""A run's provenance, ready before its files are written: so a file is written once, with it.

The studio opens a :class:`Stamp` for each run, keyed by the run's own output folder (the
``out_dir`` its backend writes to), with the record id fixed before generation. A backend
whose writer can carry metadata in its first and only write (video: container tags in the
one H.264 encode) asks ``for_dir(out_dir)`` for the stamp and ``stamp.tags_for(result, path)``
for the tags; the stamp remembers which record each file carries, so the studio then writes
only the sidecar for those files instead of rewriting them (an ffmpeg remux per clip).

Keyed by folder rather than held in a context variable: a run's generator may be resumed in
other threads (Gradio iterates generators in a worker pool), and one folder is one run.
"""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from aigc_demo.core.types import GenerationResult

Record = dict[str, Any]


@dataclass
class Stamp:
    """The provenance of one run: ``record(result)`` is what goes into its files and ``tags``
    turns that into container metadata."""

    record: Callable[[GenerationResult], Record]
    tags: Callable[[Record], dict[str, str]]
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = ""  # fixed by whoever first builds the record (the studio)
    carried: dict[str, Record] = field(default_factory=dict)  # file name -> record written into it

    def tags_for(self, result: GenerationResult, path: Path) -> dict[str, str]:
        """The metadata to write into ``path`` now; remembered as carried by that file."""
        record = self.record(result)
        self.carried[Path(path).name] = record
        return self.tags(record)

    def carries(self, path: Path, record: Record) -> bool:
        """Whether ``path`` was written with exactly ``record`` (names survive publishing)."""
        return self.carried.get(Path(path).name) == record


_open: dict[str, Stamp] = {}
_lock = threading.Lock()


@contextmanager
def opened(out_dir: Path, stamp: Stamp) -> Iterator[Stamp]:
    """Make ``stamp`` the one for files written under ``out_dir`` while the block runs."""
    key = str(Path(out_dir).resolve())
    with _lock:
        _open[key] = stamp
    try:
        yield stamp
    finally:
        with _lock:
            _open.pop(key, None)


def for_dir(out_dir: Path | None) -> Stamp | None:
    """The stamp of the run writing under ``out_dir`` (None outside a studio run)."""
    if out_dir is None:
        return None
    with _lock:
        return _open.get(str(Path(out_dir).resolve()))
