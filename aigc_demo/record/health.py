"""The self-check: is the data directory usable, and the review database sound?

Run once at start-up (``app.py`` refuses to start with the first problem, in one line) and
on every ``/system_status`` (the same checks, reported, nothing refused):

- the data directory exists or can be made, and a file can be written and removed in it;
- the disk holding it has at least ``min_free_mb`` free;
- the review database opens (a file that is not a database, or is damaged, does not);
- ``PRAGMA integrity_check`` says ``ok`` (on PostgreSQL: every table reads through);
- its schema version is one this app knows.

Damaged rows do not stop the app: the store quarantines them when it opens and the check
lists them. At start-up it also removes what failed or crashed writes left under outputs/
(staging folders, temporary files, files no record mentions, sidecars of missing files).
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigc_demo.core.files import STAGING_PREFIX, free_mb, remove_staging

from .export import hide_paths
from .database import open_database
from .schema import SCHEMA_VERSION
from .store import ReviewStore

ORPHAN_MIN_AGE_SECONDS = 60  # younger files may belong to a write still going on elsewhere
STAGING_MIN_AGE_SECONDS = 1800  # a replica sharing the data dir may still be running a long job


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Health:
    """What the self-check found. ``store`` is the opened store (None if it could not open)."""

    checks: list[Check] = field(default_factory=list)
    quarantined: list[dict[str, str]] = field(default_factory=list)
    cleaned: int = 0  # leftover files removed at start-up
    store: ReviewStore | None = None

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def problem(self) -> str:
        """The first failed check, in one line ("" when all passed)."""
        return next((check.detail for check in self.checks if not check.ok), "")

    def as_dict(self) -> dict[str, Any]:
        """The report as others may see it (paths cut to their last part)."""
        return {
            "ok": self.ok,
            "checks": {check.name: {"ok": check.ok, "detail": hide_paths(check.detail)} for check in self.checks},
            "quarantined": self.quarantined,
        }


def _data_dir(path: Path) -> Check:
    try:
        (path / "outputs").mkdir(parents=True, exist_ok=True)
        probe = path / f".write-check-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # replicas may share the folder (and a pid)
        with open(probe, "wb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return Check("data_dir", False, f"the data directory {path} is not writable ({reason}); "
                                        "set AIGC_DATA_DIR to a folder this user can write")
    return Check("data_dir", True, f"{path} is writable")


def _disk(path: Path, min_free_mb: float) -> Check:
    free = free_mb(path)
    if free < min_free_mb:
        return Check("disk", False, f"only {free:.0f} MB free on the disk of {path}; at least {min_free_mb:g} MB "
                                    "are needed (AIGC_MIN_FREE_DISK_MB)")
    return Check("disk", True, f"{free:.0f} MB free (floor {min_free_mb:g} MB)")


def _open(path: Path, database_url: str | None) -> tuple[ReviewStore | None, Check]:
    try:
        store = ReviewStore(path, database_url=database_url)
    except (sqlite3.Error, RuntimeError, OSError, ValueError) as error:
        try:
            where = open_database(path, database_url).location
        except ValueError:
            where = "(bad AIGC_DATABASE_URL)"
        advice = ("check that the server is running and the URL (AIGC_DATABASE_URL) is right" if database_url
                  else "move it aside or restore a backup")
        return None, Check("database", False, f"the review database {where} cannot be opened ({error}); {advice}")
    return store, Check("database", True, f"{store.location} opens")


def _integrity(store: ReviewStore) -> list[Check]:
    try:
        result = [row[0] for row in store.query("PRAGMA integrity_check")]
        version = store.schema_version()
    except sqlite3.Error as error:
        return [Check("integrity", False, f"the review database {store.location} cannot be read ({error})")]
    checks = [Check("integrity", result == ["ok"], "integrity check ok" if result == ["ok"] else
                    f"the review database {store.location} failed its integrity check ({result[0][:200]}); "
                    "restore a backup or move it aside")]
    checks.append(Check("schema", version == SCHEMA_VERSION, f"schema v{version}" if version == SCHEMA_VERSION else
                        f"the review database has schema v{version}; this app knows v{SCHEMA_VERSION}"))
    return checks


def remove_leftovers(store: ReviewStore, min_age: float = ORPHAN_MIN_AGE_SECONDS) -> int:
    """Delete staging folders, temporary files, files no record mentions and sidecars of
    missing files under outputs/ (older than ``min_age`` seconds; staging folders older than
    ``STAGING_MIN_AGE_SECONDS``, as replicas share the folder); returns how many."""
    removed = remove_staging(store.outputs_dir, max(min_age, STAGING_MIN_AGE_SECONDS) if min_age else 0.0)
    report = store.check_files()
    media = {str(p) for p in report.orphans}
    sidecars = [p for p in store.outputs_dir.rglob("*.json")
                if not Path(str(p)[:-5]).exists() or str(p)[:-5] in media]
    now = time.time()
    for path in [*report.orphans, *report.temp_files, *sidecars]:
        if STAGING_PREFIX not in str(path) and now - path.stat().st_mtime >= min_age:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def self_check(data_dir: Path | str, min_free_mb: float, store: ReviewStore | None = None,
               clean: bool = False, database_url: str | None = None) -> Health:
    """Run every check (see the module docstring); ``clean`` also removes leftover files.
    ``database_url``: a PostgreSQL server instead of the SQLite file in ``data_dir``."""
    path = Path(data_dir).expanduser().resolve()
    health = Health(checks=[_data_dir(path)])
    if not health.ok:
        return health
    health.checks.append(_disk(path, min_free_mb))
    if store is None:
        store, opened = _open(path, database_url)
    else:
        opened = Check("database", True, f"{store.location} is open")
    health.checks.append(opened)
    health.store = store
    if store is None:
        return health
    health.checks += _integrity(store)
    health.quarantined = store.quarantine_list()
    if clean and health.ok:
        health.cleaned = remove_leftovers(store)
    return health
