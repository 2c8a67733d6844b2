"""The review store: every output recorded, rated by people, exported.

One SQLite file, ``<data_dir>/reviews.sqlite3``, in WAL mode, or a PostgreSQL database shared
by several app processes (``database_url``; ``record.database`` translates the SQL); output
files live under ``<data_dir>/outputs/`` (a folder those processes share). The schema
(``record.schema``) is migrated when the store opens.
Each (record, reviewer) pair has one review, which the same reviewer edits by submitting
again; another reviewer adds a review of their own.

Order of writes, so that no record ever points at a missing or half-written file:

1. the generator writes the file atomically (``core.files.atomic_path``: temp file + rename);
2. the studio builds the ``OutputRecord`` (its ``id`` exists from then on), embeds
   ``record.provenance()`` into the file (``provenance.embed`` also renames atomically);
3. ``ReviewStore.add_record(record)`` commits the row, and refuses an ``ok`` record whose
   files do not exist.

A crash between 1 and 3 leaves at worst a file without a record (``check_files`` lists
such orphans); it never leaves a record without its file. Files deleted later by hand are
found when the store opens and their records are marked ``missing_file``.

Concurrency: connections come from a small pool (borrowed for one operation, returned,
at most ``POOL_SIZE`` kept open, the rest closed: threads that come and go leave none
behind), writes in ``BEGIN IMMEDIATE`` transactions behind a per-store lock (threads of one
process queue without spinning), ``busy_timeout`` for other processes sharing the file (on
PostgreSQL, one advisory lock serialises the writers of every process the same way).

Damaged rows (a JSON cell that does not parse, an unknown modality) are moved aside when the
store opens (``record.quarantine``): the raw row is kept in the ``quarantine`` table, the row
itself is repaired to defaults and marked ``quarantined``, and ``self.quarantined`` says so.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aigc_demo.core.files import BUNDLES_FOLDER
from aigc_demo.core.text import printable
from aigc_demo.core.types import MODALITIES, ValidationError

from .database import Database, open_database
from .export import write_export
from .models import (
    MAX_COMMENT_CHARS,
    MAX_REVIEWER_CHARS,
    PLAYGROUND,
    POSITIVE_RATING,
    RECORD_FIELDS,
    STATUSES,
    ConsistencyReport,
    OutputRecord,
    Review,
    iso_time,
    normalize_rating,
    normalize_tags,
    utc_now,
)
from .quarantine import quarantine_damaged, quarantined
from .schema import migrate

POOL_SIZE = 4  # idle connections kept open


class ReviewStore:
    """The record of every output and its reviews (SQLite, or PostgreSQL when ``database_url``
    is a ``postgresql://`` URL). Safe to share between threads and, on PostgreSQL, processes."""

    def __init__(self, data_dir: Path | str, *, check_files: bool = True, database_url: str | None = None):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.outputs_dir.mkdir(parents=True, exist_ok=True)
        self.database: Database = open_database(self.data_dir, database_url)
        self.db_path = self.database.path  # the SQLite file; None on PostgreSQL
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        self._write_lock = threading.RLock()
        with self._connection() as conn:
            self.migrated_from = migrate(conn)
        with self._write() as conn:
            self.quarantined = quarantine_damaged(conn)
        self.report = self.check_files() if check_files else ConsistencyReport()

    @property
    def outputs_dir(self) -> Path:
        """Where generated files are written (pass as ``out_dir`` to generators)."""
        return self.data_dir / "outputs"

    # ------------------------------------------------------------ connections

    @property
    def location(self) -> str:
        """Where the rows are, for messages: the SQLite file, or the URL without its password."""
        return self.database.location

    def _open(self) -> sqlite3.Connection:
        return self.database.connect()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation, from the pool; returned (or closed) afterwards."""
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None and not self.database.usable(conn):  # the server hung up while it idled
            with suppress(Exception):
                conn.close()
            conn = None
        conn = conn or self._open()
        healthy = True
        try:
            yield conn
        finally:
            try:
                if conn.in_transaction:
                    conn.rollback()
            except sqlite3.Error:
                healthy = False  # a connection that cannot even roll back is not reused
            with self._pool_lock:
                keep = healthy and not self._closed and len(self._idle) < POOL_SIZE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Every row of one read query (fetched before the connection goes back to the pool)."""
        with self._connection() as conn:
            return conn.execute(sql, tuple(args)).fetchall()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, self._connection() as conn:
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
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def quarantine_list(self, limit: int = 20) -> list[dict[str, str]]:
        """Rows quarantined so far (see ``record.quarantine``), newest first."""
        with self._connection() as conn:
            return quarantined(conn, limit)

    def open_connections(self) -> int:
        """Idle connections the pool holds open (at most POOL_SIZE)."""
        with self._pool_lock:
            return len(self._idle)

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> "ReviewStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        return self.query("PRAGMA user_version")[0][0]

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
        unknown = sorted(set(values) - set(RECORD_FIELDS))
        if unknown:
            known = ", ".join(RECORD_FIELDS)
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
        row = {name: getattr(record, name) for name in RECORD_FIELDS}
        try:
            created_at = iso_time(record.created_at)
        except (TypeError, ValueError):
            raise ValidationError("created_at", f"must be an ISO 8601 time (got {record.created_at!r})") from None
        row = {k: _valid_text(v) for k, v in row.items()}  # a lone surrogate cannot be stored as UTF-8
        row.update(
            created_at=created_at,
            params=_valid_text(json.dumps(record.params, ensure_ascii=False, default=str)),
            file_paths=json.dumps(paths, ensure_ascii=False),
            notes=_valid_text(json.dumps([str(n) for n in record.notes], ensure_ascii=False)),
            inputs=_valid_text(json.dumps(record.inputs or {}, ensure_ascii=False, default=str)),
            checks=_valid_text(json.dumps(record.checks or [], ensure_ascii=False, default=str)),
            scenario=record.scenario or PLAYGROUND,
            load_seconds=float(record.load_seconds or 0.0),
            generate_seconds=float(record.generate_seconds or 0.0),
        )
        return row

    def _record_from_row(self, row: sqlite3.Row) -> OutputRecord:
        values = {name: row[name] for name in RECORD_FIELDS}
        values["params"] = json.loads(values["params"])
        values["notes"] = json.loads(values["notes"])
        values["inputs"] = json.loads(values["inputs"])
        values["checks"] = json.loads(values["checks"])
        values["file_paths"] = [str(self.resolve_path(p)) for p in json.loads(values["file_paths"])]
        return OutputRecord(**values)

    def get_record(self, record_id: str) -> OutputRecord | None:
        """The record with absolute file paths, or None."""
        rows = self.query("SELECT * FROM records WHERE id = ?", (record_id,))
        return self._record_from_row(rows[0]) if rows else None

    def run_records(self, run_id: str) -> list[OutputRecord]:
        """Every output of one run (``OutputRecord.run_id``), in the order they were made."""
        rows = self.query("SELECT * FROM records WHERE run_id = ? ORDER BY created_at, rowid", (run_id,))
        return [self._record_from_row(row) for row in rows]

    # ------------------------------------------------------------ reviews

    def submit_review(
        self,
        record_id: str,
        rating: int | str,
        tags: Sequence[str] | str = (),
        comment: str = "",
        reviewer: str = "",
    ) -> Review:
        """Create or replace ``reviewer``'s review of the record (one per reviewer). The app
        passes who is reviewing (a login name or a browser's guest id, never a name the
        client chose); a blank reviewer is refused, so reviews cannot overwrite each other."""
        rating = normalize_rating(rating)
        tag_list = normalize_tags(tags)
        for name, value in (("comment", comment), ("reviewer", reviewer)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(name, f"must be text (got {type(value).__name__})")
        comment = printable(comment or "")  # no control characters or lone surrogates
        reviewer = " ".join(printable(reviewer or "").split())
        if len(comment) > MAX_COMMENT_CHARS:
            raise ValidationError("comment", f"is {len(comment)} characters; the limit is {MAX_COMMENT_CHARS}")
        if not reviewer:
            raise ValidationError("reviewer", "is required (the login name, or the browser's guest id)")
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
        rows = self.query(
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
        for column, value in (("scenario", scenario), ("modality", modality),
                              ("session_id", session_id), ("status", status)):  # fmt: skip
            if value:
                clauses.append(f"r.{column} = ?")
                args.append(value)
        if model:  # "model contains": any part of the reference, any case
            escaped = model.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("r.model_ref LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        for name, value, op in (("since", since, ">="), ("until", until, "<")):
            if value:
                clauses.append(f"r.created_at {op} ?")
                try:
                    args.append(iso_time(value, end_of_day=name == "until"))
                except (TypeError, ValueError) as error:
                    raise ValidationError(name, f"must be a date YYYY-MM-DD up to 9999-12-30 ({error})") from None
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
        for row in self.query(sql, (*args, limit)):
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
                           SUM(CASE WHEN EXISTS (SELECT 1 FROM reviews WHERE record_id = r.id)
                               THEN 1 ELSE 0 END) AS rated
                    FROM records r WHERE {where} GROUP BY r.scenario, r.model_ref""",
                args,
            ).fetchall()
            ratings = conn.execute(
                f"""SELECT r.scenario, r.model_ref, COUNT(*) AS n, SUM(v.rating) AS total,
                           SUM(CASE WHEN v.rating >= {POSITIVE_RATING} THEN 1 ELSE 0 END) AS up
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

        One consistent snapshot of the store, written by ``export.write_export``. File
        paths are exported as stored (relative to the data directory when inside it).
        """
        with self._snapshot() as conn:
            records = conn.execute("SELECT * FROM records ORDER BY created_at, rowid").fetchall()
            reviews: dict[str, list[dict[str, Any]]] = {}
            for row in conn.execute("SELECT * FROM reviews ORDER BY created_at, reviewer"):
                reviews.setdefault(row["record_id"], []).append(_review_from_row(row).to_dict())
        return write_export(records, reviews, out_dir)

    # ------------------------------------------------------------ consistency

    def check_files(self) -> ConsistencyReport:
        """Mark ``ok`` records whose files are gone as ``missing_file``; list orphan and
        temporary files under outputs/. Runs when the store opens."""
        report = ConsistencyReport()
        referenced: set[str] = set()
        for row in self.query("SELECT id, status, file_paths FROM records"):
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
        bundles = self.outputs_dir / BUNDLES_FOLDER
        for path in sorted(self.outputs_dir.rglob("*")):
            if not path.is_file() or path.is_relative_to(bundles):  # run downloads are copies, not outputs
                continue
            if path.name.startswith(".") and ".tmp" in path.name:
                report.temp_files.append(path)
            elif path.suffix != ".json" and str(path) not in referenced:
                report.orphans.append(path)
        return report


def _valid_text(value: Any) -> Any:
    """Text that encodes as UTF-8: lone surrogates become "?"; other values as they are."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8") if not value.isascii() else value
    return value


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

