"""Structured text outputs: a task declares its parts once (``structure:`` in the YAML); the
parts give the JSON schema that constrains the model (llama.cpp decodes only JSON that follows
it) and the Markdown the reader sees, built by code, while it streams and at the end.

A part is a ``line``, a ``paragraph``, a ``list`` of lines, or a ``table`` of named columns.
Strings have a length limit and lists an item range, so a small model cannot loop forever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aigc_demo.core.text import Bilingual, lang

PART_KINDS = ("line", "paragraph", "list", "table")


@dataclass(frozen=True)
class Column:
    name: str
    label: Bilingual
    max_chars: int = 80
    choices: dict[str, tuple[str, ...]] | None = None  # the only values allowed, per language


@dataclass(frozen=True)
class Part:
    name: str
    kind: str
    label: Bilingual
    max_chars: int = 200  # per string (a line, a paragraph, a list item)
    min_chars: int = 1  # a paragraph can ask for a real paragraph
    min_items: int = 1
    max_items: int = 5
    columns: tuple[Column, ...] = ()
    value: Bilingual | None = None  # a template filled from the form by code: not asked of the model

    @property
    def generated(self) -> bool:
        return self.value is None

    def schema(self, language: str) -> dict[str, Any]:
        text = {"type": "string", "minLength": self.min_chars, "maxLength": self.max_chars}
        if self.kind in ("line", "paragraph"):
            return text
        if self.kind == "list":
            item: dict[str, Any] = text
        else:
            item = {
                "type": "object",
                "properties": {c.name: ({"enum": list(c.choices[language])} if c.choices else
                                        {"type": "string", "minLength": 1, "maxLength": c.max_chars})
                               for c in self.columns},
                "required": [c.name for c in self.columns],
                "additionalProperties": False,
            }
        return {"type": "array", "items": item, "minItems": self.min_items, "maxItems": self.max_items}

    def markdown(self, value: Any, language: str) -> str:
        heading = f"**{self.label[language]}**"
        if self.kind in ("line", "paragraph"):
            return f"{heading}\n\n{_clean(value)}"
        items = value if isinstance(value, list) else []
        if self.kind == "list":
            return heading + "\n\n" + "\n".join(f"- {_clean(item)}" for item in items if _clean(item))
        header = "| " + " | ".join(c.label[language] for c in self.columns) + " |"
        rule = "|" + "---|" * len(self.columns)
        rows = ["| " + " | ".join(_clean(row.get(c.name, "")).replace("|", "/") for c in self.columns) + " |"
                for row in items if isinstance(row, dict)]
        return "\n".join([heading, "", header, rule, *rows])


def schema(parts: tuple[Part, ...], language: str) -> str:
    """The JSON schema of a whole answer in ``language``: one object with every part, in order."""
    return json.dumps({
        "type": "object",
        "properties": {p.name: p.schema(lang(language)) for p in parts if p.generated},
        "required": [p.name for p in parts if p.generated],
        "additionalProperties": False,
    }, ensure_ascii=False)


def render(parts: tuple[Part, ...], text: str, language: str, fixed: dict[str, str] | None = None) -> str | None:
    """Markdown from the model's JSON (complete, or cut off while streaming) and the ``fixed``
    parts' values; None when the text holds no readable JSON at all (e.g. a backend that could
    not enforce the schema)."""
    data = complete_json(text)
    if not isinstance(data, dict):
        return None
    data = {**data, **(fixed or {})}
    language = lang(language)
    return "\n\n".join(p.markdown(data[p.name], language) for p in parts if data.get(p.name))


def complete_json(prefix: str) -> Any:
    """Parse JSON that may stop anywhere: open strings, arrays and objects are closed, and a
    dangling key or comma is dropped. None if nothing parses."""
    start = prefix.find("{")
    if start < 0:
        return None
    prefix = prefix[start:]
    for cut in _cut_points(prefix):
        try:
            return json.loads(_closed(prefix[:cut]))
        except ValueError:
            continue
    return None


def _cut_points(text: str) -> list[int]:
    """Where to try cutting: the whole text, then before each of the last few commas and colons."""
    points = [len(text)]
    for index in range(len(text) - 1, 0, -1):
        if text[index] in ",:" and len(points) < 12:
            points.append(index)
    return points


def _closed(text: str) -> str:
    """``text`` with its open string, arrays and objects closed (trailing commas dropped)."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    if in_string:
        text = text[:-1] if escaped else text
        text += '"'
    text = text.rstrip().rstrip(",")
    if text.endswith(":"):
        text += "null"
    return text + "".join(reversed(stack))


def _clean(value: Any) -> str:
    return " ".join(str(value or "").split())
