"""Export of records and their reviews to CSV and JSONL files.

Both are safe to hand out: no server path (output files are named relative to the data
directory, uploaded inputs by their file name) and, in the CSV, no cell that a spreadsheet
would run as a formula (OWASP "CSV injection": a cell starting with ``= + - @``, tab or
carriage return gets a leading ``'`` and every cell is quoted).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .models import RECORD_FIELDS

# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# An absolute POSIX or Windows path inside free text (notes): only its last part is kept. A URL
# (a "/" after ":" or "/") is no path: a remote server is named in full.
_PATH_IN_TEXT = re.compile(r"(?<![\w.~:/])(?:[A-Za-z]:\\|/)(?:[^\s/\\'\"]+[/\\])+([^\s/\\'\"]*)")
JSON_COLUMNS = ("params", "notes", "file_paths", "inputs", "checks")  # stored as JSON text
REVIEW_COLUMNS = ("reviewer", "rating", "tags", "comment", "review_created_at", "review_updated_at")
REVIEW_KEYS = ("reviewer", "rating", "tags", "comment", "created_at", "updated_at")  # their names in a Review


def write_export(
    records: Sequence[Mapping[str, Any]],
    reviews: Mapping[str, list[dict[str, Any]]],
    out_dir: Path | str,
) -> tuple[Path, Path]:
    """Write ``records`` (rows as stored) with ``reviews`` (by record id) to CSV and JSONL;
    returns (csv, jsonl).

    JSONL: one line per record, its fields plus ``reviews`` (a list). CSV (UTF-8 with
    BOM so spreadsheet apps read Chinese): one row per review, a record without
    reviews gets one row with empty review columns; list/dict cells hold JSON.
    Both files are written to a temporary name and renamed (atomic).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{uuid.uuid4().hex[:6]}"
    csv_path, jsonl_path = out_dir / f"reviews-{stamp}.csv", out_dir / f"reviews-{stamp}.jsonl"
    csv_buffer = io.StringIO()
    writer = csv.writer(csv_buffer, quoting=csv.QUOTE_ALL)
    writer.writerow([*RECORD_FIELDS, *REVIEW_COLUMNS])
    with _atomic_text(jsonl_path) as jsonl:
        for row in records:
            item = {name: row[name] for name in RECORD_FIELDS}
            for key in JSON_COLUMNS:
                item[key] = json.loads(item[key])
            item = public_record(item)
            item["reviews"] = reviews.get(row["id"], [])
            jsonl.write(json.dumps(item, ensure_ascii=False) + "\n")
            base = [_csv_cell(item[name]) for name in RECORD_FIELDS]
            for review in item["reviews"] or [None]:
                if review is None:
                    writer.writerow(base + [""] * len(REVIEW_COLUMNS))
                else:
                    writer.writerow(base + [_csv_cell(review[name]) for name in REVIEW_KEYS])
    with _atomic_text(csv_path, encoding="utf-8-sig") as handle:
        handle.write(csv_buffer.getvalue())
    return csv_path, jsonl_path


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    return "" if value is None else spreadsheet_safe(value)


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet shows as text: one starting (after any spaces) with a
    formula character gets a leading ``'`` (OWASP). Numbers are left as they are."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def public_path(stored: str) -> str:
    """A file as others may see it: relative to the data directory (``outputs/x.png``) as
    stored, or only its name when it was stored with an absolute (server) path."""
    path = str(stored)
    return os.path.basename(path.replace("\\", "/")) if os.path.isabs(path) or re.match(r"[A-Za-z]:[\\/]", path) else path


def hide_paths(text: str) -> str:
    """Free text (a note, an error) with every absolute path reduced to its last part."""
    return _PATH_IN_TEXT.sub(lambda m: m.group(1) or "…", text) if isinstance(text, str) else text


def public_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """A record (as a dict) without server paths: files relative to the data directory,
    uploaded inputs by name, notes with paths cut to their last part."""
    out = dict(item)
    if "file_paths" in out:
        out["file_paths"] = [public_path(p) for p in out["file_paths"] or []]
    if isinstance(out.get("inputs"), Mapping):
        out["inputs"] = {k: public_path(v) if isinstance(v, str) and os.path.isabs(v) else v
                         for k, v in out["inputs"].items()}
    if isinstance(out.get("notes"), list):
        out["notes"] = [hide_paths(n) for n in out["notes"]]
    return out


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
