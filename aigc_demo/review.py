"""The review store: every output recorded, rated by people, exported.

One SQLite file, ``<data_dir>/reviews.sqlite3``, in WAL mode; output files live under
``<data_dir>/outputs/``. The schema version is ``PRAGMA user_version`` and ``MIGRATIONS``
brings any older file forward when the store opens.

Ratings are one integer, 1..5 stars; the thumbs buttons map onto it: thumbs up =
``THUMBS_UP`` (5), thumbs down = ``THUMBS_DOWN`` (1). A rating of 4 or 5 counts as
"thumbs up" in the summary. Each (record, reviewer) pair has one review, which the same
reviewer edits by submitting again; another reviewer adds a review of their own.

Order of writes, so that no record ever points at a missing or half-written file:

1. the generator writes the file atomically (``base.atomic_path``: temp file + rename);
2. the studio builds the ``OutputRecord`` (its ``id`` exists from then on), embeds
   ``record.provenance()`` into the file (``provenance.embed`` also renames atomically);
3. ``ReviewStore.add_record(record)`` commits the row, and refuses an ``ok`` record whose
   files do not exist.

A crash between 1 and 3 leaves at worst a file without a record (``check_files`` lists
such orphans); it never leaves a record without its file. Files deleted later by hand are
found when the store opens and their records are marked ``missing_file``.

Concurrency: one SQLite connection per thread, writes in ``BEGIN IMMEDIATE`` transactions
behind a per-store lock (threads of one process queue without spinning), ``busy_timeout``
for other processes sharing the file.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from aigc_demo import __version__
from aigc_demo.core.types import MODALITIES, GenerationResult, ValidationError

DB_NAME = "reviews.sqlite3"
THUMBS_UP = 5
THUMBS_DOWN = 1
MIN_RATING, MAX_RATING = 1, 5
POSITIVE_RATING = 4  # ratings >= this count as "thumbs up" in summaries
STATUSES = ("ok", "cancelled", "error", "missing_file")
PLAYGROUND = "playground"
# Suggested reason tags; any short tag is accepted.
REVIEW_TAGS = (
    "great",
    "factual error",
    "off-brand",
    "compliance risk",
    "unsafe",
    "wrong language",
    "low quality",
    "off-topic",
)
MAX_TAGS, MAX_TAG_CHARS, MAX_COMMENT_CHARS, MAX_REVIEWER_CHARS = 20, 40, 4000, 80
BUSY_TIMEOUT_MS = 30_000


# ---------------------------------------------------------------- schema and migrations

# MIGRATIONS[i] moves a database from user_version i to i + 1, inside one transaction.
# Never edit a released step: append a new one.
_V1 = (
    # v1: the first release. One anonymous review per output.
    """CREATE TABLE records (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        scenario TEXT NOT NULL,
        task TEXT NOT NULL DEFAULT '',
        modality TEXT NOT NULL,
        prompt TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        seed INTEGER,
        model_ref TEXT NOT NULL DEFAULT '',
        preset TEXT NOT NULL DEFAULT '',
        device TEXT NOT NULL DEFAULT '',
        load_seconds REAL NOT NULL DEFAULT 0,
        generate_seconds REAL NOT NULL DEFAULT 0,
        app_version TEXT NOT NULL DEFAULT '',
        output_text TEXT,
        file_paths TEXT NOT NULL DEFAULT '[]',
        session_id TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'ok'
    )""",
    "CREATE INDEX records_created ON records(created_at)",
    """CREATE TABLE reviews (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        comment TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
    )""",
)
_V2 = (
    # v2: several named reviewers per output, reason tags, generator notes, more indexes.
    """CREATE TABLE reviews_v2 (
        record_id TEXT NOT NULL REFERENCES records(id),
        reviewer TEXT NOT NULL DEFAULT '',
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        tags TEXT NOT NULL DEFAULT '[]',
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (record_id, reviewer)
    )""",
    """INSERT INTO reviews_v2 (record_id, reviewer, rating, tags, comment, created_at, updated_at)
       SELECT record_id, '', rating, '[]', comment, updated_at, updated_at FROM reviews""",
    "DROP TABLE reviews",
    "ALTER TABLE reviews_v2 RENAME TO reviews",
    "CREATE INDEX reviews_updated ON reviews(record_id, updated_at)",
    "ALTER TABLE records ADD COLUMN notes TEXT NOT NULL DEFAULT '[]'",
    "CREATE INDEX records_scenario ON records(scenario, created_at)",
    "CREATE INDEX records_session ON records(session_id, created_at)",
)
_V3 = (
    # v3: the form values a scenario run started from, so "re-run exactly" can refill the tab.
    "ALTER TABLE records ADD COLUMN inputs TEXT NOT NULL DEFAULT '{}'",
)
Migration = Sequence[str] | Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = [_V1, _V2, _V3]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Bring the database to schema ``target`` (default: the latest); returns the version found before.

    Each step runs in its own ``BEGIN IMMEDIATE`` transaction together with the
    ``user_version`` bump, so a crash mid-migration leaves the previous version intact,
    and two processes opening the same old file migrate it once.
    """
    latest = len(MIGRATIONS)
    target = latest if target is None else target
    start = conn.execute("PRAGMA user_version").fetchone()[0]
    if start > latest:
        raise RuntimeError(
            f"review database has schema v{start}, newer than this app (v{latest}); "
            "upgrade the app or point AIGC_DATA_DIR elsewhere"
        )
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= target:
                conn.execute("COMMIT")
                return start
            step = MIGRATIONS[version]
            if callable(step):
                step(conn)
            else:
                for statement in step:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


# ---------------------------------------------------------------- values


def utc_now() -> str:
    """Current UTC time as ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _iso(value: str | date | datetime, *, end_of_day: bool = False) -> str:
    """Normalise a filter bound to the stored format; a bare date means its midnight
    (or the next midnight when ``end_of_day``), naive datetimes are UTC."""
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time()) + timedelta(days=int(end_of_day))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class OutputRecord:
    """One generation: everything needed to show, judge and reproduce it."""

    modality: str
    prompt: str = ""
    scenario: str = PLAYGROUND
    task: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    model_ref: str = ""
    preset: str = ""
    device: str = ""
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    app_version: str = __version__
    output_text: str | None = None
    file_paths: list[str] = field(default_factory=list)
    session_id: str = ""
    status: str = "ok"
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)  # scenario form values, for re-runs
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=utc_now)

    @classmethod
    def from_result(cls, result: GenerationResult, **fields: Any) -> "OutputRecord":
        """A record from a generator's result; ``fields`` adds scenario, task, prompt,
        preset, device, session_id... (prompt defaults to ``params["prompt"]``)."""
        values: dict[str, Any] = dict(
            modality=result.modality,
            prompt=str(result.params.get("prompt", "")),
            params=dict(result.params),
            seed=result.seed,
            model_ref=result.model_ref,
            load_seconds=result.load_seconds,
            generate_seconds=result.generate_seconds,
            output_text=result.text,
            file_paths=[str(p) for p in result.files],
            status="cancelled" if result.cancelled else "ok",
            notes=list(result.notes),
        )
        values.update(fields)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def provenance(self) -> dict[str, Any]:
        """What goes inside the output files (no session id, paths or output text)."""
        keys = ("id", "created_at", "scenario", "task", "modality", "prompt", "params", "seed",
                "model_ref", "preset", "device", "app_version")  # fmt: skip
        record = {key: getattr(self, key) for key in keys}
        record["app"] = "AIGC Industry Studio"
        record["ai_generated"] = True
        return record


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(OutputRecord))


@dataclass
class Review:
    """One reviewer's judgement of one output."""

    record_id: str
    rating: int
    reviewer: str = ""
    tags: list[str] = field(default_factory=list)
    comment: str = ""
    created_at: str = ""
    updated_at: str = ""

    @property
    def thumbs_up(self) -> bool:
        return self.rating >= POSITIVE_RATING

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ConsistencyReport:
    """What ``check_files`` found: records whose files vanished (now ``missing_file``),
    files under outputs/ that no record mentions, and leftover temporary files."""

    missing: list[str] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    temp_files: list[Path] = field(default_factory=list)


def normalize_rating(rating: Any) -> int:
    """1..5 stars; "up"/"down" (thumbs) map to THUMBS_UP/THUMBS_DOWN."""
    if isinstance(rating, str):
        key = rating.strip().lower()
        thumbs = {"up": THUMBS_UP, "thumbs_up": THUMBS_UP, "👍": THUMBS_UP,
                  "down": THUMBS_DOWN, "thumbs_down": THUMBS_DOWN, "👎": THUMBS_DOWN}  # fmt: skip
        if key in thumbs:
            return thumbs[key]
    if isinstance(rating, bool) or rating is None:
        raise ValidationError("rating", f"must be {MIN_RATING}..{MAX_RATING} stars or 'up'/'down'")
    try:
        number = float(rating)
    except (TypeError, ValueError):
        raise ValidationError("rating", f"must be {MIN_RATING}..{MAX_RATING} stars or 'up'/'down'") from None
    if number != int(number) or not MIN_RATING <= number <= MAX_RATING:
        raise ValidationError("rating", f"must be a whole number from {MIN_RATING} to {MAX_RATING} (got {rating})")
    return int(number)


def normalize_tags(tags: Any) -> list[str]:
    """Stripped, de-duplicated (order kept), short tags; a string is split on commas."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValidationError("tags", "must be text")
        tag = " ".join(tag.split())
        if len(tag) > MAX_TAG_CHARS:
            raise ValidationError("tags", f"each tag is at most {MAX_TAG_CHARS} characters ('{tag[:20]}...')")
        if tag and tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValidationError("tags", f"at most {MAX_TAGS} tags (got {len(out)})")
    return out


# ---------------------------------------------------------------- the store


class ReviewStore:
    """SQLite-backed record of every output and its reviews. Safe to share between threads."""

    def __init__(self, data_dir: Path | str, *, check_files: bool = True):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.outputs_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / DB_NAME
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self.migrated_from = migrate(self._conn())
        self.report = self.check_files() if check_files else ConsistencyReport()

    @property
    def outputs_dir(self) -> Path:
        """Where generated files are written (pass as ``out_dir`` to generators)."""
        return self.data_dir / "outputs"

    # ------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: autocommit; transactions are explicit (BEGIN IMMEDIATE).
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)  # fmt: skip
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable against process crashes
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same state."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> "ReviewStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    # ------------------------------------------------------------ paths

    def _store_path(self, path: str | Path) -> str:
        """Relative (POSIX) to data_dir when under it, else absolute."""
        absolute = Path(path).expanduser()
        absolute = (absolute if absolute.is_absolute() else Path.cwd() / absolute).resolve()
        try:
            return absolute.relative_to(self.data_dir).as_posix()
        except ValueError:
            return str(absolute)

    def resolve_path(self, stored: str) -> Path:
        path = Path(stored)
        return path if path.is_absolute() else self.data_dir / path

    # ------------------------------------------------------------ records

    def add_record(self, record: OutputRecord | Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Store one output and return its id. Accepts an OutputRecord, a dict of its
        fields, or keyword arguments. Files must already exist (see module docstring)."""
        base = dataclasses.asdict(record) if isinstance(record, OutputRecord) else dict(record or {})
        values = {**base, **fields}
        unknown = sorted(set(values) - set(_RECORD_FIELDS))
        if unknown:
            known = ", ".join(_RECORD_FIELDS)
            raise ValidationError("record", f"unknown field(s) {', '.join(unknown)}; known: {known}")
        if "modality" not in values:
            raise ValidationError("modality", f"is required (one of {', '.join(MODALITIES)})")
        record = OutputRecord(**values)
        row = self._validated_row(record)
        with self._write() as conn:
            sql = f"INSERT INTO records ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
            try:
                conn.execute(sql, tuple(row.values()))
            except sqlite3.IntegrityError:
                raise ValidationError("id", f"an output with id {record.id!r} is already recorded") from None
        return record.id

    def _validated_row(self, record: OutputRecord) -> dict[str, Any]:
        if record.modality not in MODALITIES:
            raise ValidationError("modality", f"must be one of {', '.join(MODALITIES)} (got {record.modality!r})")
        if record.status not in STATUSES:
            raise ValidationError("status", f"must be one of {', '.join(STATUSES)} (got {record.status!r})")
        if not isinstance(record.id, str) or not record.id:
            raise ValidationError("id", "must be a non-empty string")
        if record.seed is not None and (isinstance(record.seed, bool) or not isinstance(record.seed, int)):
            raise ValidationError("seed", f"must be an integer or None (got {record.seed!r})")
        paths = [self._store_path(p) for p in record.file_paths]
        if record.status == "ok":
            for stored in paths:
                if not self.resolve_path(stored).is_file():
                    raise ValidationError("file_paths", f"{stored} does not exist; write the file before recording it")
        row = {name: getattr(record, name) for name in _RECORD_FIELDS}
        try:
            created_at = _iso(record.created_at)
        except (TypeError, ValueError):
            raise ValidationError("created_at", f"must be an ISO 8601 time (got {record.created_at!r})") from None
        row.update(
            created_at=created_at,
            params=json.dumps(record.params, ensure_ascii=False, default=str),
            file_paths=json.dumps(paths, ensure_ascii=False),
            notes=json.dumps([str(n) for n in record.notes], ensure_ascii=False),
            inputs=json.dumps(record.inputs or {}, ensure_ascii=False, default=str),
            scenario=record.scenario or PLAYGROUND,
            load_seconds=float(record.load_seconds or 0.0),
            generate_seconds=float(record.generate_seconds or 0.0),
        )
        return row

    def _record_from_row(self, row: sqlite3.Row) -> OutputRecord:
        values = {name: row[name] for name in _RECORD_FIELDS}
        values["params"] = json.loads(values["params"])
        values["notes"] = json.loads(values["notes"])
        values["inputs"] = json.loads(values["inputs"])
        values["file_paths"] = [str(self.resolve_path(p)) for p in json.loads(values["file_paths"])]
        return OutputRecord(**values)

    def get_record(self, record_id: str) -> OutputRecord | None:
        """The record with absolute file paths, or None."""
        row = self._conn().execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        return self._record_from_row(row) if row else None

    # ------------------------------------------------------------ reviews

    def submit_review(
        self,
        record_id: str,
        rating: int | str,
        tags: Sequence[str] | str = (),
        comment: str = "",
        reviewer: str = "",
    ) -> Review:
        """Create or replace ``reviewer``'s review of the record (one per reviewer)."""
        rating = normalize_rating(rating)
        tag_list = normalize_tags(tags)
        comment = (comment or "").strip()
        reviewer = " ".join((reviewer or "").split())
        if len(comment) > MAX_COMMENT_CHARS:
            raise ValidationError("comment", f"is {len(comment)} characters; the limit is {MAX_COMMENT_CHARS}")
        if len(reviewer) > MAX_REVIEWER_CHARS:
            raise ValidationError("reviewer", f"is at most {MAX_REVIEWER_CHARS} characters")
        now = utc_now()
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone() is None:
                raise ValidationError("record_id", f"no output with id {record_id!r}")
            conn.execute(
                """INSERT INTO reviews (record_id, reviewer, rating, tags, comment, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (record_id, reviewer) DO UPDATE SET
                     rating = excluded.rating, tags = excluded.tags,
                     comment = excluded.comment, updated_at = excluded.updated_at""",
                (record_id, reviewer, rating, json.dumps(tag_list, ensure_ascii=False), comment, now, now),
            )
            row = conn.execute(
                "SELECT * FROM reviews WHERE record_id = ? AND reviewer = ?", (record_id, reviewer)
            ).fetchone()
        return _review_from_row(row)

    def get_reviews(self, record_id: str) -> list[Review]:
        """All reviews of a record, most recently updated first."""
        rows = self._conn().execute(
            "SELECT * FROM reviews WHERE record_id = ? ORDER BY updated_at DESC, reviewer", (record_id,)
        )
        return [_review_from_row(row) for row in rows]

    # ------------------------------------------------------------ queries

    @staticmethod
    def _where(
        scenario: str | None = None,
        modality: str | None = None,
        model: str | None = None,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        session_id: str | None = None,
        status: str | None = None,
    ) -> tuple[str, list[Any]]:
        """SQL filter on ``records r``. ``since`` is inclusive, ``until`` exclusive; a bare
        date as ``until`` includes that whole day."""
        clauses, args = ["1 = 1"], []
        for column, value in (("scenario", scenario), ("modality", modality), ("model_ref", model),
                              ("session_id", session_id), ("status", status)):  # fmt: skip
            if value:
                clauses.append(f"r.{column} = ?")
                args.append(value)
        if since:
            clauses.append("r.created_at >= ?")
            args.append(_iso(since))
        if until:
            clauses.append("r.created_at < ?")
            args.append(_iso(until, end_of_day=True))
        return " AND ".join(clauses), args

    def list_outputs(
        self,
        scenario: str | None = None,
        modality: str | None = None,
        model: str | None = None,
        min_rating: int | None = None,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        session_id: str | None = None,
        limit: int = 50,
        *,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest outputs first, each a flat dict: the record's fields (absolute file
        paths) plus its latest review (``rating``, ``tags``, ``comment``, ``reviewer``,
        ``reviewed_at``; None when unrated), ``review_count`` and ``mean_rating``.
        ``min_rating`` filters on the latest review's rating (unrated rows drop out)."""
        where, args = self._where(scenario, modality, model, since, until, session_id, status)
        if min_rating is not None:
            where += " AND v.rating >= ?"
            args.append(normalize_rating(min_rating))
        limit = max(1, min(int(limit), 10_000))
        sql = f"""
            SELECT r.*, v.rating AS v_rating, v.tags AS v_tags, v.comment AS v_comment,
                   v.reviewer AS v_reviewer, v.updated_at AS v_updated_at,
                   (SELECT COUNT(*) FROM reviews WHERE record_id = r.id) AS review_count,
                   (SELECT AVG(rating) FROM reviews WHERE record_id = r.id) AS mean_rating
            FROM records r
            LEFT JOIN reviews v ON v.rowid = (
                SELECT rowid FROM reviews WHERE record_id = r.id
                ORDER BY updated_at DESC, rowid DESC LIMIT 1)
            WHERE {where}
            ORDER BY r.created_at DESC, r.rowid DESC
            LIMIT ?"""
        out = []
        for row in self._conn().execute(sql, (*args, limit)):
            item = self._record_from_row(row).to_dict()
            item.update(
                rating=row["v_rating"],
                tags=json.loads(row["v_tags"]) if row["v_tags"] is not None else [],
                comment=row["v_comment"],
                reviewer=row["v_reviewer"],
                reviewed_at=row["v_updated_at"],
                review_count=row["review_count"],
                mean_rating=row["mean_rating"],
            )
            out.append(item)
        return out

    def summary(self, **filters: Any) -> dict[str, Any]:
        """Figures over the records matching ``filters`` (same names as list_outputs,
        without min_rating/limit). Every review counts once in ``mean_rating`` and
        ``thumbs_up_share`` (share of reviews rated >= 4); ``rated`` counts records with
        at least one review. Returns the totals plus ``by_scenario`` and ``by_model``."""
        where, args = self._where(**filters)
        with self._snapshot() as conn:
            counts = conn.execute(
                f"""SELECT r.scenario, r.model_ref, COUNT(*) AS n,
                           SUM(EXISTS (SELECT 1 FROM reviews WHERE record_id = r.id)) AS rated
                    FROM records r WHERE {where} GROUP BY r.scenario, r.model_ref""",
                args,
            ).fetchall()
            ratings = conn.execute(
                f"""SELECT r.scenario, r.model_ref, COUNT(*) AS n, SUM(v.rating) AS total,
                           SUM(v.rating >= {POSITIVE_RATING}) AS up
                    FROM records r JOIN reviews v ON v.record_id = r.id
                    WHERE {where} GROUP BY r.scenario, r.model_ref""",
                args,
            ).fetchall()

        def empty() -> dict[str, float]:
            return {"count": 0, "rated": 0, "reviews": 0, "rating_total": 0, "up": 0}

        groups: dict[str, dict[str, dict[str, float]]] = {"all": {}, "by_scenario": {}, "by_model": {}}

        def add(scenario: str, model: str, **values: int) -> None:
            for name, key in (("all", ""), ("by_scenario", scenario), ("by_model", model)):
                bucket = groups[name].setdefault(key, empty())
                for k, v in values.items():
                    bucket[k] += v or 0

        for row in counts:
            add(row["scenario"], row["model_ref"], count=row["n"], rated=row["rated"])
        for row in ratings:
            add(row["scenario"], row["model_ref"], reviews=row["n"], rating_total=row["total"], up=row["up"])

        def figures(bucket: dict[str, float]) -> dict[str, Any]:
            reviews = int(bucket["reviews"])
            return {
                "count": int(bucket["count"]),
                "rated": int(bucket["rated"]),
                "reviews": reviews,
                "mean_rating": round(bucket["rating_total"] / reviews, 3) if reviews else None,
                "thumbs_up_share": round(bucket["up"] / reviews, 3) if reviews else None,
            }

        result = figures(groups["all"].get("", empty()))
        result["by_scenario"] = {k: figures(v) for k, v in sorted(groups["by_scenario"].items())}
        result["by_model"] = {k: figures(v) for k, v in sorted(groups["by_model"].items())}
        return result

    # ------------------------------------------------------------ export

    def export(self, out_dir: Path | str) -> tuple[Path, Path]:
        """Write every record with its reviews to CSV and JSONL; returns (csv, jsonl).

        JSONL: one line per record, its fields plus ``reviews`` (a list). CSV (UTF-8 with
        BOM so spreadsheet apps read Chinese): one row per review, a record without
        reviews gets one row with empty review columns; list/dict cells hold JSON.
        File paths are exported as stored (relative to the data directory when inside it).
        Both files are written to a temporary name and renamed (atomic).
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
        csv_path, jsonl_path = out_dir / f"reviews-{stamp}.csv", out_dir / f"reviews-{stamp}.jsonl"
        with self._snapshot() as conn:
            records = conn.execute("SELECT * FROM records ORDER BY created_at, rowid").fetchall()
            reviews: dict[str, list[dict[str, Any]]] = {}
            for row in conn.execute("SELECT * FROM reviews ORDER BY created_at, reviewer"):
                reviews.setdefault(row["record_id"], []).append(_review_from_row(row).to_dict())
        review_columns = ["reviewer", "rating", "tags", "comment", "review_created_at", "review_updated_at"]
        csv_buffer = io.StringIO()
        writer = csv.writer(csv_buffer)
        writer.writerow([*_RECORD_FIELDS, *review_columns])
        with _atomic_text(jsonl_path) as jsonl:
            for row in records:
                item = {name: row[name] for name in _RECORD_FIELDS}
                for key in ("params", "notes", "file_paths", "inputs"):
                    item[key] = json.loads(item[key])
                item["reviews"] = reviews.get(row["id"], [])
                jsonl.write(json.dumps(item, ensure_ascii=False) + "\n")
                base = [_csv_cell(item[name]) for name in _RECORD_FIELDS]
                for review in item["reviews"] or [None]:
                    if review is None:
                        writer.writerow(base + [""] * len(review_columns))
                    else:
                        writer.writerow(base + [
                            review["reviewer"], review["rating"], _csv_cell(review["tags"]),
                            review["comment"], review["created_at"], review["updated_at"],
                        ])  # fmt: skip
        with _atomic_text(csv_path, encoding="utf-8-sig") as handle:
            handle.write(csv_buffer.getvalue())
        return csv_path, jsonl_path

    # ------------------------------------------------------------ consistency

    def check_files(self) -> ConsistencyReport:
        """Mark ``ok`` records whose files are gone as ``missing_file``; list orphan and
        temporary files under outputs/. Runs when the store opens."""
        report = ConsistencyReport()
        referenced: set[str] = set()
        for row in self._conn().execute("SELECT id, status, file_paths FROM records"):
            paths = json.loads(row["file_paths"])
            referenced.update(str(self.resolve_path(p)) for p in paths)
            if row["status"] == "ok" and any(not self.resolve_path(p).is_file() for p in paths):
                report.missing.append(row["id"])
        if report.missing:
            with self._write() as conn:
                conn.executemany(
                    "UPDATE records SET status = 'missing_file' WHERE id = ? AND status = 'ok'",
                    [(rid,) for rid in report.missing],
                )
        for path in sorted(self.outputs_dir.rglob("*")):
            if not path.is_file():
                continue
            if path.name.startswith(".") and ".tmp" in path.name:
                report.temp_files.append(path)
            elif path.suffix != ".json" and str(path) not in referenced:
                report.orphans.append(path)
        return report


def _review_from_row(row: sqlite3.Row) -> Review:
    return Review(
        record_id=row["record_id"],
        rating=row["rating"],
        reviewer=row["reviewer"],
        tags=json.loads(row["tags"]),
        comment=row["comment"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


@contextmanager
def _atomic_text(path: Path, encoding: str = "utf-8") -> Iterator[io.TextIOBase]:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding=encoding, newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
