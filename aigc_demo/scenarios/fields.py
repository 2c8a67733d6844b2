"""Form fields and their values: text, number, choice, language, ``table`` and ``file`` fields.

:func:`check_value` checks and coerces one value (``None`` means the default) and raises
``ValidationError(field, message)``; :func:`display_value` shows a checked value inside a
prompt (choices as labels, tables as Markdown, files by name).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any

from aigc_demo.core.text import Bilingual, lang
from aigc_demo.core.types import ValidationError

FIELD_KINDS = ("text", "textarea", "number", "choice", "language", "table", "file")
ROOT = Path(__file__).resolve().parents[2]  # relative file paths are resolved against the project root
# Longest value a free-text field accepts (the rendered prompt is checked again later).
MAX_CHARS = {"text": 300, "textarea": 3000}
MAX_TABLE_ROWS = 50
MAX_CELL_CHARS = 200
MAX_FILE_BYTES = 10_000_000

LANGUAGE_CHOICES_LABELS = {
    "en": Bilingual(en="English", zh="英文"),
    "zh": Bilingual(en="Chinese", zh="中文"),
}


@dataclass(frozen=True)
class Choice:
    """One option of a choice field: the stored value and its label in each language."""

    value: str
    label: Bilingual


@dataclass(frozen=True)
class Column:
    """One column of a table field: its name (the key in row mappings) and its header."""

    name: str
    label: Bilingual


@dataclass(frozen=True)
class Field:
    name: str
    label: Bilingual
    kind: str
    default: Any = dc_field(hash=False)  # a table's default is a list (unhashable)
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    info: Bilingual | None = None
    required: bool = True
    columns: tuple[Column, ...] = ()  # table fields
    extensions: tuple[str, ...] = ()  # file fields: allowed suffixes without the dot ("csv")

    @property
    def integer(self) -> bool:
        """A number field is whole-numbered when its default and bounds are ints."""
        bounds = (self.default, self.minimum, self.maximum)
        return all(b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds)

    def choice_pairs(self, language: str | None = None) -> list[tuple[str, str]]:
        """(label, value) pairs for a dropdown: labels in ``language``, or "English · 中文"."""
        pairs = []
        for c in self.choices:
            label = c.label[language] if language else c.label.en
            if not language and c.label.zh != c.label.en:
                label = f"{c.label.en} · {c.label.zh}"
            pairs.append((label, c.value))
        return pairs

    def headers(self, language: str = "en") -> list[str]:
        """A table field's column headers in ``language``."""
        return [c.label[lang(language)] for c in self.columns]

    def row_dicts(self, value: Any) -> list[dict[str, str]]:
        """A table field's value, checked here, as ``{column name: cell}`` mappings."""
        return self.row_mappings(check_value(self, value))

    def row_mappings(self, rows: list[list[str]]) -> list[dict[str, str]]:
        """Already checked table rows as ``{column name: cell}`` mappings."""
        return [dict(zip((c.name for c in self.columns), row)) for row in rows]

    def choice_label(self, value: str, language: str) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label[language]
        return str(value)


def display_value(f: Field, value: Any, language: str) -> str:
    """A checked value as a prompt shows it: a table as Markdown, a file by name, a choice by label."""
    if f.kind == "table":
        return _markdown_table(f.headers(language), value) if value else ("（无）" if language == "zh" else "(none)")
    if f.kind == "file":
        return Path(value).name
    if f.kind in ("choice", "language"):
        return f.choice_label(value, language)
    if f.kind == "number":
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value)


def _clean_text(value: str) -> str:
    return "".join(ch for ch in value if ch in "\n\t" or ch.isprintable()).strip()


def _markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers))] + [line(r) for r in rows])


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None / NaN
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(_clean_text(str(value)).split())


def _text_rows(text: str) -> Any:
    """Rows from pasted text: a JSON / Python list of rows, or lines of Markdown pipes, tabs
    or commas (quotes respected)."""
    import ast
    import json

    if text.strip().startswith("[") and len(text) <= 100_000:
        for parse in (json.loads, ast.literal_eval):  # literal_eval evaluates literals only
            try:
                return parse(text.strip())
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
    rows = []
    for line in text.strip().splitlines():
        if not line.strip():
            continue
        if "|" in line:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                continue  # a Markdown alignment row
        else:
            cells = next(csv.reader([line], delimiter="\t" if "\t" in line else ",", skipinitialspace=True))
        rows.append(cells)
    return rows


def _check_table(f: Field, value: Any) -> list[list[str]]:
    """Rows of a table field from a list of rows (lists or mappings), a {"data": ...} mapping
    (Gradio's Dataframe payload), a DataFrame-like object or pasted text."""
    if isinstance(value, str):
        try:
            raw: Any = _text_rows(value)
        except csv.Error:  # e.g. a cell over the csv module's field size limit
            raise ValidationError(f.name, f"cannot be read as a table (a cell longer than {csv.field_size_limit()} "
                                          "characters, or broken quoting)") from None
        names = {n.casefold() for c in f.columns for n in (c.name, c.label.en, c.label.zh)}
        first = raw[0] if isinstance(raw, list) and raw and isinstance(raw[0], list) else None
        if first and all(str(cell).strip().casefold() in names for cell in first if str(cell).strip()):
            raw = raw[1:]  # a header row
    elif isinstance(value, Mapping) and "data" in value:
        raw = value["data"]
    elif hasattr(value, "columns") and hasattr(getattr(value, "values", None), "tolist"):
        raw = value.values.tolist()  # a pandas DataFrame, without importing pandas
    else:
        raw = value
    if not isinstance(raw, (list, tuple)):
        raise ValidationError(f.name, "must be a table (a list of rows)")
    width = len(f.columns)
    rows: list[list[str]] = []
    for n, row in enumerate(raw, start=1):
        if isinstance(row, Mapping):
            by_name = {str(k).strip().casefold(): v for k, v in row.items()}
            cells = [_cell(by_name.get(c.name.casefold(), by_name.get(c.label.en.casefold(), by_name.get(c.label.zh))))
                     for c in f.columns]
        elif isinstance(row, (list, tuple)):
            cells = [_cell(v) for v in row]
        else:
            raise ValidationError(f.name, f"row {n} must be a list of cells")
        if any(cells[width:]):
            raise ValidationError(f.name, f"row {n} has {len(cells)} cells; the table has {width} columns")
        cells = (cells + [""] * width)[:width]
        for cell in cells:
            if len(cell) > MAX_CELL_CHARS:
                raise ValidationError(f.name, f"row {n}: a cell is {len(cell)} characters; the limit is {MAX_CELL_CHARS}")
        if any(cells):
            rows.append(cells)
    if len(rows) > MAX_TABLE_ROWS:
        raise ValidationError(f.name, f"has {len(rows)} rows; the limit is {MAX_TABLE_ROWS}")
    if f.required and not rows:
        raise ValidationError(f.name, "is empty; please add at least one row")
    return rows


def _check_file(f: Field, value: Any) -> str:
    """An existing file's path (a str/Path, a {"path": ...} mapping, or an object with .path
    or .name); relative paths are resolved against the project root."""
    if isinstance(value, Mapping):
        value = value.get("path") or value.get("name")
    elif not isinstance(value, (str, Path)):
        value = getattr(value, "path", None) or getattr(value, "name", None)
    if not value or not str(value).strip():
        value = f.default
    path = Path(str(value).strip())
    path = path if path.is_absolute() else (ROOT / path).resolve()
    if not path.is_file():
        raise ValidationError(f.name, f"file not found: {path.name}")
    if f.extensions and path.suffix.lower().lstrip(".") not in f.extensions:
        raise ValidationError(f.name, f"must be a {' or '.join('.' + e for e in f.extensions)} file (got {path.name})")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValidationError(f.name, f"is {size // 1_000_000} MB; the limit is {MAX_FILE_BYTES // 1_000_000} MB")
    return str(path)


def check_value(f: Field, value: Any) -> Any:
    """One field's value, checked and coerced (None means "use the default")."""
    if value is None:
        value = f.default
    if f.kind == "table":
        return _check_table(f, value)
    if f.kind == "file":
        return _check_file(f, value)
    if f.kind in ("text", "textarea"):
        if isinstance(value, (dict, list, tuple, set)):
            raise ValidationError(f.name, "must be text")
        text = _clean_text(str(value))
        if f.required and not text:
            raise ValidationError(f.name, "is empty; please fill it in")
        limit = MAX_CHARS[f.kind]
        if len(text) > limit:
            raise ValidationError(f.name, f"is {len(text)} characters; the limit is {limit}")
        return text
    if f.kind == "number":
        if isinstance(value, bool):
            raise ValidationError(f.name, "must be a number")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValidationError(f.name, f"must be a number (got {value!r})") from None
        if f.integer:
            if not number.is_integer():
                raise ValidationError(f.name, f"must be a whole number (got {value!r})")
            number = int(number)
        low = f.minimum if f.minimum is not None else float("-inf")
        high = f.maximum if f.maximum is not None else float("inf")
        if not low <= number <= high:
            raise ValidationError(f.name, f"must be between {f.minimum} and {f.maximum} (got {value!r})")
        return number
    # choice / language: accept the value, or any label of it (case-insensitive)
    wanted = str(value).strip()
    for choice in f.choices:
        if wanted == choice.value:
            return choice.value
    folded = wanted.casefold()
    for choice in f.choices:
        if folded in (choice.value.casefold(), choice.label.en.casefold(), choice.label.zh.casefold()):
            return choice.value
    allowed = ", ".join(c.value for c in f.choices)
    raise ValidationError(f.name, f"must be one of {allowed} (got {value!r})")
