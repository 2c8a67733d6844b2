"""Export of records and their reviews to CSV and JSONL files."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .models import RECORD_FIELDS

JSON_COLUMNS = ("params", "notes", "file_paths", "inputs")  # stored as JSON text
REVIEW_COLUMNS = ("reviewer", "rating", "tags", "comment", "review_created_at", "review_updated_at")


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
    writer = csv.writer(csv_buffer)
    writer.writerow([*RECORD_FIELDS, *REVIEW_COLUMNS])
    with _atomic_text(jsonl_path) as jsonl:
        for row in records:
            item = {name: row[name] for name in RECORD_FIELDS}
            for key in JSON_COLUMNS:
                item[key] = json.loads(item[key])
            item["reviews"] = reviews.get(row["id"], [])
            jsonl.write(json.dumps(item, ensure_ascii=False) + "\n")
            base = [_csv_cell(item[name]) for name in RECORD_FIELDS]
            for review in item["reviews"] or [None]:
                if review is None:
                    writer.writerow(base + [""] * len(REVIEW_COLUMNS))
                else:
                    writer.writerow(base + [
                        review["reviewer"], review["rating"], _csv_cell(review["tags"]),
                        review["comment"], review["created_at"], review["updated_at"],
                    ])  # fmt: skip
    with _atomic_text(csv_path, encoding="utf-8-sig") as handle:
        handle.write(csv_buffer.getvalue())
    return csv_path, jsonl_path


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
