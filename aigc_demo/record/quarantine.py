"""Damaged rows are moved aside, not fatal: found when the store opens, kept as they were.

A row is damaged when a JSON cell does not parse or has the wrong shape, or when a value the
app relies on is not one it knows (a modality, a status, a time). Each damaged row is copied
as it was (all columns, as JSON text) into the ``quarantine`` table with the reason, then
repaired in place to safe defaults and, for a record, marked ``quarantined``, so that lists,
summaries and exports keep working and the System tab can say what happened.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from aigc_demo.core.types import MODALITIES

from .models import STATUSES, utc_now

# column -> (the JSON type it must hold, the value a damaged cell is reset to)
RECORD_JSON = {"params": (dict, "{}"), "notes": (list, "[]"), "file_paths": (list, "[]"), "inputs": (dict, "{}"),
               "checks": (list, "[]")}
REVIEW_JSON = {"tags": (list, "[]")}


def _json_problem(value: Any, kind: type) -> str | None:
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return "not valid JSON"
    return None if isinstance(parsed, kind) else f"not a JSON {'object' if kind is dict else 'list'}"


def _record_problems(row: sqlite3.Row) -> dict[str, str]:
    problems = {col: p for col, (kind, _) in RECORD_JSON.items() if (p := _json_problem(row[col], kind))}
    if row["modality"] not in MODALITIES:
        problems["modality"] = f"unknown modality {str(row['modality'])[:20]!r}"
    if row["status"] not in STATUSES:
        problems["status"] = f"unknown status {str(row['status'])[:20]!r}"
    try:
        datetime.fromisoformat(str(row["created_at"]))
    except ValueError:
        problems["created_at"] = "not a time"
    return problems


def _keep(conn: sqlite3.Connection, kind: str, key: str, reason: str, row: sqlite3.Row) -> None:
    raw = json.dumps({k: row[k] for k in row.keys()}, ensure_ascii=False, default=str)
    conn.execute("INSERT INTO quarantine (kind, key, reason, raw, quarantined_at) VALUES (?, ?, ?, ?, ?)",
                 (kind, key, reason, raw, utc_now()))


def quarantine_damaged(conn: sqlite3.Connection) -> list[dict[str, str]]:
    """Move aside every damaged record and review (inside the caller's write transaction);
    returns what was quarantined now: ``{"kind", "key", "reason"}`` each."""
    found: list[dict[str, str]] = []
    for row in conn.execute("SELECT * FROM records WHERE status != 'quarantined'").fetchall():
        problems = _record_problems(row)
        if not problems:
            continue
        reason = "; ".join(f"{col}: {text}" for col, text in problems.items())
        _keep(conn, "record", row["id"], reason, row)
        fixes = {col: RECORD_JSON[col][1] for col in problems if col in RECORD_JSON}
        if "modality" in problems:
            fixes["modality"] = "text"
        if "created_at" in problems:
            fixes["created_at"] = utc_now()
        fixes["status"] = "quarantined"
        conn.execute(f"UPDATE records SET {', '.join(f'{c} = ?' for c in fixes)} WHERE id = ?", (*fixes.values(), row["id"]))
        found.append({"kind": "record", "key": row["id"], "reason": reason})
    for row in conn.execute("SELECT rowid, * FROM reviews").fetchall():
        problem = _json_problem(row["tags"], list)
        if problem is None:
            continue
        key = f"{row['record_id']}/{row['reviewer']}"
        _keep(conn, "review", key, f"tags: {problem}", row)
        conn.execute("UPDATE reviews SET tags = '[]' WHERE rowid = ?", (row["rowid"],))
        found.append({"kind": "review", "key": key, "reason": f"tags: {problem}"})
    return found


def quarantined(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, str]]:
    """The rows quarantined so far, newest first."""
    rows = conn.execute("SELECT kind, key, reason, quarantined_at FROM quarantine ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(row) for row in rows.fetchall()]
