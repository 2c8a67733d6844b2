"""Industry scenarios as data: one YAML file per industry under ``assets/scenarios``.

A :class:`Scenario` has form :class:`Field` s (bilingual labels, kinds, worked-example
defaults) and :class:`Task` s: one generator call each, with a ``string.Template``
prompt per output language. A task may use the text output of an earlier task
(``uses: [copy]`` makes ``$copy`` available) or run once per item of an earlier text
output (``for_each: scenes:screenplay`` gives ``$item`` and ``$index``).

A scenario may also declare pre-steps (``compute:``), code that turns form values into
template variables before any model runs (e.g. market figures computed from a price CSV),
and a task may name a parser (``parse:``) that reads structure out of its text output (e.g. a
task table). Both are small registries (:func:`register_compute`, :func:`register_parser`);
the industry ones live in :mod:`aigc_demo.industry`. Besides text, number and choice fields
there are ``table`` fields (rows of text cells under named columns) and ``file`` fields (a
path; a relative default is resolved against the project root).

Everything is checked when the files load, so a typo fails loudly with the file and key:
:class:`ScenarioError`. This module imports no model library (it is on the start-up path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field, fields as dc_fields, replace
from pathlib import Path
from string import Template
from collections.abc import Iterator, Mapping
from typing import Any, Callable

import yaml

from aigc_demo.core.text import AI_LABEL, LANGUAGES, Bilingual, lang

from aigc_demo.core.types import (
    MODALITIES,
    AudioRequest,
    ImageRequest,
    TextRequest,
    ValidationError,
    VideoRequest,
)

FIELD_KINDS = ("text", "textarea", "number", "choice", "language", "table", "file")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = ROOT / "assets" / "scenarios"
ITEM_VARS = ("item", "index")
# Longest value a free-text field accepts (the rendered prompt is checked again later).
MAX_CHARS = {"text": 300, "textarea": 3000}
MAX_TABLE_ROWS = 50
MAX_CELL_CHARS = 200
MAX_FILE_BYTES = 10_000_000
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Request fields a scenario may not set through `params` (they come from the templates).
_TEMPLATE_OWNED = {"prompt", "system_prompt"}
_REQUEST_TYPES = {"text": TextRequest, "image": ImageRequest, "audio": AudioRequest, "video": VideoRequest}


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the file and the key."""

    def __init__(self, message: str, file: str | Path | None = None, key: str | None = None):
        self.file = str(file) if file is not None else None
        self.key = key
        where = ": ".join(part for part in (self.file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


# ---------------------------------------------------------------- data model


_DISCLAIMER_MARK = "⚠️ "
_LABEL_MARK = "🤖 "
_FOOTER_RULE = "---"

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
        """A table field's (checked) value as ``{column name: cell}`` mappings."""
        rows = _check_value(self, value)
        return [dict(zip((c.name for c in self.columns), row)) for row in rows]

    def choice_label(self, value: str, language: str) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label[language]
        return str(value)


@dataclass(frozen=True, eq=False)
class Task:
    name: str
    generator: str
    title: Bilingual
    prompt: Bilingual
    system_prompt: Bilingual | None = None
    params: Mapping[str, Any] = dc_field(default_factory=dict)
    params_by_language: Mapping[str, Mapping[str, Any]] = dc_field(default_factory=dict)
    uses: tuple[str, ...] = ()
    for_each: str | None = None  # "<splitter>:<task>", e.g. "scenes:screenplay"
    limit: int | str | None = None  # a count, or the name of a number field
    prompt_language: str | None = None  # force one template language (image models read English)
    parse: str | None = None  # a registered parser that reads structure out of the text output

    @property
    def splitter(self) -> str | None:
        return self.for_each.split(":", 1)[0] if self.for_each else None

    @property
    def source(self) -> str | None:
        return self.for_each.split(":", 1)[1] if self.for_each else None

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the earlier tasks whose text this task needs."""
        extra = (self.source,) if self.source and self.source not in self.uses else ()
        return self.uses + extra


@dataclass(frozen=True)
class ReviewTag:
    value: str
    label: Bilingual


@dataclass(frozen=True, eq=False)
class Scenario:
    id: str
    api_name: str
    order: int
    title: Bilingual
    tab: Bilingual  # the short tab label (defaults to the title)
    description: Bilingual
    fields: tuple[Field, ...]
    tasks: tuple[Task, ...]
    disclaimer: Bilingual | None = None
    label_outputs: bool = False
    review_tags: tuple[ReviewTag, ...] = ()
    examples: tuple[Mapping[str, Any], ...] = ()
    source: Path | None = None
    pre_steps: tuple["PreStep", ...] = ()  # the `compute:` list, run before the tasks
    chat: tuple[str, str] | None = None  # (message field, history field) when shown as a chat

    # -------------------------------------------------------------- lookups

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def task(self, name: str) -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def language_field(self) -> Field | None:
        return next((f for f in self.fields if f.kind == "language"), None)

    # -------------------------------------------------------------- values

    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in self.fields}

    def validate_values(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Fill defaults for missing (None) values, coerce numbers, map choice labels to
        values and check ranges; raise ValidationError(field, message)."""
        values = dict(values or {})
        names = {f.name for f in self.fields}
        for key in values:
            if key not in names:
                raise ValidationError(key, f"is not a field of scenario '{self.id}'")
        return {f.name: _check_value(f, values.get(f.name)) for f in self.fields}

    def example_rows(self) -> list[list[Any]]:
        """Examples as rows of values in field order (defaults filled), e.g. for gr.Examples."""
        rows = []
        for example in self.examples:
            filled = self.validate_values(example)
            rows.append([filled[f.name] for f in self.fields])
        return rows

    def language(self, values: Mapping[str, Any] | None = None) -> str:
        lang_field = self.language_field
        if lang_field is None:
            return "en"
        value = (values or {}).get(lang_field.name)
        return _check_value(lang_field, value)

    # -------------------------------------------------------------- tasks

    def task_params(self, task: Task | str, language: str) -> dict[str, Any]:
        task = self._task(task)
        return {**task.params, **task.params_by_language.get(lang(language), {})}

    def item_limit(self, task: Task | str, values: Mapping[str, Any] | None = None) -> int | None:
        task = self._task(task)
        if task.limit is None or isinstance(task.limit, int):
            return task.limit
        return int(self.validate_values(values)[task.limit])

    def task_items(
        self, task: Task | str, outputs: Mapping[str, str], values: Mapping[str, Any] | None
    ) -> list[str]:
        """The items a for_each task runs over: the split output of its source task, capped
        by its limit (which may be a form field, hence ``values``)."""
        task = self._task(task)
        if not task.for_each:
            return []
        limit = self.item_limit(task, values)
        text = self._output(task, task.source or "", outputs)
        parts = split(task.splitter or "", text, limit)
        return parts[:limit] if limit is not None else parts

    def render(
        self,
        task: Task | str,
        values: Mapping[str, Any] | None,
        outputs: Mapping[str, str] | None = None,
        item: str | None = None,
        index: int | None = None,
        computed: Mapping[str, "Computed"] | None = None,
    ) -> str:
        """The prompt of ``task``: the template of the output language with every ``$var``
        filled (choices as labels in that language, earlier outputs without their footer,
        tables as Markdown, files by name). Variables of pre-steps come from ``computed``
        (the result of :meth:`compute`) or, when it is not given, are computed here."""
        task = self._task(task)
        return self._substitute(task, task.prompt, values, outputs or {}, item, index, computed)

    # -------------------------------------------------------------- pre-steps and parsers

    def compute(self, values: Mapping[str, Any] | None = None, language: str | None = None) -> dict[str, "Computed"]:
        """Run every pre-step on the checked form ``values``: ``{step name: Computed}``.

        A step's ValidationError names the form field it came from (e.g. a bad CSV)."""
        checked = self.validate_values(values)
        language = lang(language or self.language(checked))
        return {use.step: self._run_step(use, checked, language) for use in self.pre_steps}

    def computed_variables(self) -> dict[str, str]:
        """Every template variable a pre-step provides -> the step's name."""
        _load_builtin_steps()
        return {var: use.step for use in self.pre_steps for var in COMPUTE_STEPS[use.step].variables}

    def parse_output(self, task: Task | str, text: str) -> "Parsed | None":
        """Run the task's parser (``parse:``) on its text output (footer removed); None when
        the task has no parser."""
        task = self._task(task)
        if task.parse is None:
            return None
        _load_builtin_steps()
        return PARSERS[task.parse](self.strip_finish(text or ""))

    def _run_step(self, use: "PreStep", checked: Mapping[str, Any], language: str) -> "Computed":
        _load_builtin_steps()
        step = COMPUTE_STEPS[use.step]
        inputs = {}
        for name, field_name in use.inputs.items():
            f = self.field(field_name)
            inputs[name] = f.row_dicts(checked[field_name]) if f.kind == "table" else checked[field_name]
        try:
            result = step.fn(inputs, language)
        except ValidationError as exc:
            if exc.field in use.inputs:  # name the form field, not the step's input
                message = str(exc).removeprefix(f"{exc.field}: ")
                raise ValidationError(use.inputs[exc.field], message) from None
            raise
        missing = set(step.variables) - set(result.variables)
        if missing:
            raise ScenarioError(f"compute step '{use.step}' did not provide {sorted(missing)}", self.source)
        return replace(result, language=language)

    def system_prompt(self, task: Task | str, language: str) -> str | None:
        """The system prompt of a text task in ``language`` (fixed text, no variables)."""
        task = self._task(task)
        if task.system_prompt is None:
            return None
        return Template(task.system_prompt[lang(language)]).substitute({}).strip()

    def _substitute(
        self,
        task: Task,
        template: Bilingual,
        values: Mapping[str, Any] | None,
        outputs: Mapping[str, str],
        item: str | None,
        index: int | None,
        computed: Mapping[str, "Computed"] | None = None,
    ) -> str:
        checked = self.validate_values(values)
        language = task.prompt_language or self.language(checked)
        mapping: dict[str, str] = {}
        for f in self.fields:
            mapping[f.name] = _display(f, checked[f.name], language)
        text = template[language]
        for use in self.pre_steps:  # only the steps whose variables this template refers to run
            _load_builtin_steps()
            if any(_mentions(text, var) for var in COMPUTE_STEPS[use.step].variables):
                done = (computed or {}).get(use.step)
                if done is None or done.language != language:
                    done = self._run_step(use, checked, language)
                mapping.update({var: str(done.variables[var]) for var in COMPUTE_STEPS[use.step].variables})
        for name in task.uses:
            if _mentions(text, name):  # only the outputs this template refers to are needed
                mapping[name] = self._output(task, name, outputs)
        if task.for_each:
            mapping["item"] = (item or "").strip()
            mapping["index"] = str(index if index is not None else 1)
        return Template(text).substitute(mapping).strip()

    def _output(self, task: Task, name: str, outputs: Mapping[str, str]) -> str:
        if not outputs.get(name):
            raise ScenarioError(f"task '{task.name}' needs the output of task '{name}' first", self.source)
        return self.strip_finish(str(outputs[name]))

    def _task(self, task: Task | str) -> Task:
        return self.task(task) if isinstance(task, str) else task

    # -------------------------------------------------------------- text outputs

    def finish_text(self, text: str, language: str) -> str:
        """Append the disclaimer (if any) and the AI label (if label_outputs); idempotent."""
        language = lang(language)
        footer = []
        if self.disclaimer is not None and self.disclaimer[language] not in text:
            footer.append(_DISCLAIMER_MARK + self.disclaimer[language])
        if self.label_outputs and AI_LABEL[language] not in text:
            footer.append(_LABEL_MARK + AI_LABEL[language])
        if not footer:
            return text
        body = text.rstrip()
        if not body:
            return "\n\n".join(footer)
        rule = "" if body.endswith(_FOOTER_RULE) else f"\n\n{_FOOTER_RULE}"
        return f"{body}{rule}\n\n" + "\n\n".join(footer)

    def strip_finish(self, text: str) -> str:
        """The text without what finish_text appended (before feeding it to another task)."""
        for language in LANGUAGES:
            if self.disclaimer is not None:
                text = text.replace(_DISCLAIMER_MARK + self.disclaimer[language], "")
                text = text.replace(self.disclaimer[language], "")
            text = text.replace(_LABEL_MARK + AI_LABEL[language], "").replace(AI_LABEL[language], "")
        text = text.rstrip()
        if text.endswith(_FOOTER_RULE):
            text = text[: -len(_FOOTER_RULE)].rstrip()
        return text


def _mentions(template: str, name: str) -> bool:
    return any(name in (m.group("named"), m.group("braced")) for m in Template.pattern.finditer(template))


def _display(f: Field, value: Any, language: str) -> str:
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
    import csv
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
        raw: Any = _text_rows(value)
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


def _check_value(f: Field, value: Any) -> Any:
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


# ---------------------------------------------------------------- pre-steps and parsers


@dataclass(frozen=True)
class Computed:
    """What a pre-step produced: template variables (text) and data for the UI (any object,
    e.g. the figures behind a table and a chart)."""

    variables: Mapping[str, str]
    data: Any = None
    language: str = "en"


@dataclass(frozen=True)
class ComputeStep:
    """A registered pre-step: ``fn(inputs, language) -> Computed``. ``inputs`` maps the step's
    input names to checked field values (a table field as a list of {column: cell} rows)."""

    name: str
    inputs: tuple[str, ...]
    variables: tuple[str, ...]
    fn: Callable[[dict[str, Any], str], Computed]


@dataclass(frozen=True)
class PreStep:
    """One use of a compute step in a scenario: ``{step: market_figures, inputs: {prices: csv}}``."""

    step: str
    inputs: Mapping[str, str]  # step input name -> field name


@dataclass(frozen=True)
class Parsed:
    """What a parser read from a text output. ``ok`` False means it could not read it (the
    reason is in ``problem``); when ok, ``problem`` may list minor issues."""

    ok: bool
    value: Any = None
    problem: str = ""


COMPUTE_STEPS: dict[str, ComputeStep] = {}
PARSERS: dict[str, Callable[[str], Parsed]] = {}


def register_compute(
    name: str, inputs: tuple[str, ...], variables: tuple[str, ...]
) -> Callable[[Callable[[dict[str, Any], str], Computed]], Callable[[dict[str, Any], str], Computed]]:
    """Register ``fn(inputs, language) -> Computed`` as pre-step ``name`` (for ``compute:``)."""

    def decorate(fn: Callable[[dict[str, Any], str], Computed]) -> Callable[[dict[str, Any], str], Computed]:
        COMPUTE_STEPS[name] = ComputeStep(name, tuple(inputs), tuple(variables), fn)
        return fn

    return decorate


def register_parser(name: str) -> Callable[[Callable[[str], Parsed]], Callable[[str], Parsed]]:
    """Register ``fn(text) -> Parsed`` as parser ``name`` (for a task's ``parse:``)."""

    def decorate(fn: Callable[[str], Parsed]) -> Callable[[str], Parsed]:
        PARSERS[name] = fn
        return fn

    return decorate


def _load_builtin_steps() -> None:
    """The industry steps and parsers register themselves on import (standard library only)."""
    import importlib

    importlib.import_module("aigc_demo.industry")


# ---------------------------------------------------------------- splitters

Splitter = Callable[[str, "int | None"], list[str]]
SPLITTERS: dict[str, Splitter] = {}


def register_splitter(name: str) -> Callable[[Splitter], Splitter]:
    """Register ``fn(text, expected=None) -> list[str]`` under ``name`` (for ``for_each``)."""

    def decorate(fn: Splitter) -> Splitter:
        SPLITTERS[name] = fn
        return fn

    return decorate


def split(name: str, text: str, expected: int | None = None) -> list[str]:
    if name not in SPLITTERS:
        raise KeyError(f"unknown splitter '{name}' (known: {', '.join(sorted(SPLITTERS))})")
    return [part for part in SPLITTERS[name](text, expected) if part.strip()]


def _chunks(parts: list[str], count: int) -> list[str]:
    """Group consecutive parts into ``count`` chunks of near-equal size."""
    count = max(1, min(count, len(parts)))
    size, extra = divmod(len(parts), count)
    chunks, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        chunks.append("\n\n".join(parts[start:end]))
        start = end
    return chunks


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


@register_splitter("paragraphs")
def split_paragraphs(text: str, expected: int | None = None) -> list[str]:
    """Blank-line separated paragraphs; grouped into ``expected`` chunks when given."""
    paragraphs = _paragraphs(text)
    if expected and len(paragraphs) > expected:
        return _chunks(paragraphs, expected)
    return paragraphs


_CN_DIGITS = "零〇一二三四五六七八九十百两"
_EN_NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_MARKUP = re.compile(r"\*\*|__|`")
_LEAD = re.compile(r"^[\s#>*_\[【(（\-–—]+")
# Tier 1: an explicit scene marker ("Scene 1", "SCENE TWO:", "Scene:", 场景一, 第1场, 第一幕).
_SCENE_MARKER = re.compile(
    rf"^(?:(?:scene|sc\.)\s*(?:(?P<en>\d+|[ivxlc]+|{_EN_NUMBER_WORDS})\b|(?=[:：.\-–—)\]】]|$))"
    rf"|场景\s*(?:(?P<cn>[\d{_CN_DIGITS}]+)\s*(?=[:：.、\-—\s)\]】内外]|$)|(?=[:：]|$))"
    rf"|第\s*(?P<di>[\d{_CN_DIGITS}]+)\s*[场幕]戏?(?=[:：.、，,\-—\s)\]】内外]|$))",
    re.IGNORECASE,
)
# Tier 2: a numbered heading line ("1.", "2) The Chase", "三、夜").
_NUMBERED = re.compile(rf"^(\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})\s*[.)、:：]\s*(.*)$")
# Tier 3: a screenplay slug line ("INT. OFFICE - DAY", "EXT.", 内景, 外景).
_SLUG = re.compile(
    r"^(?:\d{1,2}[.)]?\s*)?(?:(?:int|ext|i/e)\b\.?|int\./ext\b|内景|外景|内外景|外/内景|内/外景)", re.IGNORECASE
)
_SENTENCE_END = ("。", "！", "？", ".", "!", "?", '"', "”", "…")


def _plain(line: str) -> str:
    return _LEAD.sub("", _MARKUP.sub("", line)).strip()


def _cn_int(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    if token == "十":
        return 10
    if "十" in token:
        tens, _, ones = token.partition("十")
        return digits.get(tens, 1) * 10 + digits.get(ones, 0) if tens or ones else 10
    return digits.get(token) if len(token) == 1 else None


def _marker_number(line: str) -> int | None:
    """The number in a scene marker ("Scene 2", "Scene II", "场景二", "第2场"), if any."""
    match = _SCENE_MARKER.match(line)
    if not match:
        return None
    token = (match.group("en") or match.group("cn") or match.group("di") or "").lower()
    words = _EN_NUMBER_WORDS.split("|")
    if token in words:
        return words.index(token) + 1
    roman = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
    if token in roman:
        return roman[token]
    return _cn_int(token) if token else None


def _numbered_headings(plain: list[str]) -> list[int]:
    """Lines that look like consecutive numbered headings (1., 2., 3. ...)."""
    found, last = [], None
    for i, line in enumerate(plain):
        match = _NUMBERED.match(line)
        if not match:
            continue
        number, rest = _cn_int(match.group(1)), match.group(2).strip()
        looks_like_heading = (
            not rest or _SLUG.match(rest) or (len(rest) <= 60 and not rest.endswith(_SENTENCE_END))
        )
        if number is None or not looks_like_heading:
            continue
        if last is None or number == last + 1:
            found.append(i)
            last = number
    return found


def _is_bare(line: str) -> bool:
    """A heading with nothing after its marker ("Scene 1", "第一场", "1.")."""
    rest = _SCENE_MARKER.sub("", line, count=1)
    rest = re.sub(r"^\d{1,2}\s*[.)、:：]", "", rest)
    return not re.sub(r"[\s:：.、\-–—)\]】]+", "", rest)


@register_splitter("scenes")
def split_scenes(text: str, expected: int | None = None) -> list[str]:
    """Split a screenplay into scenes, tolerating a small model's loose formatting.

    Headings are found in tiers: explicit scene markers (Scene 1, 场景一, 第1场), then
    numbered heading lines (1., 2.), then slug lines (INT./EXT., 内景/外景). The first tier
    with at least two headings wins (else one with a single heading). Without headings
    the paragraphs are grouped into ``expected`` chunks, or the whole text is one scene.
    Markdown bold/heading marks are removed; no scene is ever empty.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    plain = [_plain(line) for line in lines]
    tiers = [
        [i for i, p in enumerate(plain) if _SCENE_MARKER.match(p)],
        _numbered_headings(plain),
        [i for i, p in enumerate(plain) if _SLUG.match(p)],
    ]
    headings = next((t for t in tiers if len(t) >= 2), None) or next((t for t in tiers if t), [])
    cleaned = [re.sub(r"^\s*#+\s*", "", _MARKUP.sub("", line)).rstrip() for line in lines]

    def block(start: int, end: int) -> str:
        return re.sub(r"\n{3,}", "\n\n", "\n".join(cleaned[start:end])).strip()

    if not headings:
        body = block(0, len(lines))
        if not body:
            return []
        paragraphs = _paragraphs(body)
        if expected and expected > 1 and len(paragraphs) > 1:
            return _chunks(paragraphs, expected)
        return [body]

    scenes: list[str] = []
    preamble = block(0, headings[0])
    if headings is tiers[0]:
        first_number = _marker_number(plain[headings[0]])
    elif headings is tiers[1]:
        first_number = _cn_int(_NUMBERED.match(plain[headings[0]]).group(1))
    else:
        first_number = None
    missed_first = first_number is not None and first_number > 1
    # Text before the first heading is usually a title or "Here is your screenplay:";
    # keep it only when it looks like a scene whose heading was forgotten.
    if preamble and (len(preamble) >= 200 or (len(preamble) >= 40 and missed_first)):
        scenes.append(preamble)
    pending = ""  # a bare heading directly followed by another heading joins the next scene
    bounds = headings + [len(lines)]
    for start, end in zip(bounds, bounds[1:]):
        scene = block(start, end)
        body_empty = not block(start + 1, end)
        if body_empty and _is_bare(plain[start]) and end != len(lines):
            pending = f"{pending}\n{scene}".strip()
            continue
        scenes.append(f"{pending}\n{scene}".strip() if pending else scene)
        pending = ""
    if pending:
        scenes.append(pending)
    return [s for s in scenes if s.strip()]


# ---------------------------------------------------------------- loading


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ScenarioError(f"duplicate key '{key}' (line {key_node.start_mark.line + 1})", key=str(key))
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _named_key(section: str, data: Any, fallback: str) -> str:
    """``fields.tone`` when the entry has a usable name, else ``fields[2]``."""
    name = data.get("name") if isinstance(data, dict) else None
    return f"{section}.{name}" if isinstance(name, str) and _NAME.match(name) else fallback


class _Reader:
    """Checks one file's raw YAML data; every error names the file and the key path."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(message, self.path, key)

    def mapping(self, data: Any, key: str, required: set[str], optional: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, f"must be a mapping, got {type(data).__name__}")
        for name in data:
            if name not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                raise self.fail(f"{key}.{name}" if key else str(name), f"unknown key (allowed: {allowed})")
        for name in sorted(required):
            if name not in data:
                raise self.fail(f"{key}.{name}" if key else name, "is required")
        return data

    def text(self, data: Any, key: str) -> str:
        if not isinstance(data, str) or not data.strip():
            raise self.fail(key, "must be a non-empty string")
        return data

    def name(self, data: Any, key: str) -> str:
        if not isinstance(data, str) or not _NAME.match(data):
            raise self.fail(key, f"must be a lower-case identifier like 'product_name' (got {data!r})")
        return data

    def bilingual(self, data: Any, key: str, allow_plain: bool = False) -> Bilingual:
        if allow_plain and isinstance(data, str):
            return Bilingual(en=self.text(data, key), zh=data)
        self.mapping(data, key, set(LANGUAGES), set())
        return Bilingual(en=self.text(data["en"], f"{key}.en"), zh=self.text(data["zh"], f"{key}.zh"))

    def items(self, data: Any, key: str) -> list[Any]:
        if not isinstance(data, list) or not data:
            raise self.fail(key, "must be a non-empty list")
        return data

    def unique(self, names: list[str], key: str) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise self.fail(f"{key}.{name}", f"duplicate name '{name}'")
            seen.add(name)

    # ------------------------------------------------------------ parts

    def choice(self, data: Any, key: str) -> Choice:
        if isinstance(data, str):
            return Choice(value=self.text(data, key), label=Bilingual(en=data, zh=data))
        self.mapping(data, key, {"value", "en", "zh"}, set())
        value = data["value"]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key}.value", "must be a non-empty string (quote yes/no/on/off)")
        return Choice(value, Bilingual(en=self.text(data["en"], f"{key}.en"), zh=self.text(data["zh"], f"{key}.zh")))

    def field(self, data: Any, key: str) -> Field:
        key = _named_key("fields", data, key)
        data = self.mapping(
            data, key, {"name", "label", "kind"},
            {"default", "choices", "minimum", "maximum", "info", "required", "columns", "extensions"},
        )
        name = self.name(data["name"], f"{key}.name")
        key = f"fields.{name}"
        kind = data["kind"]
        if kind not in FIELD_KINDS:
            raise self.fail(f"{key}.kind", f"unknown kind {kind!r} (allowed: {', '.join(FIELD_KINDS)})")
        if kind != "language" and "default" not in data:
            raise self.fail(f"{key}.default", "is required (defaults form the worked example)")
        misplaced = {
            "choices": ("choice",),
            "minimum": ("number",),
            "maximum": ("number",),
            "required": ("text", "textarea", "table"),
            "columns": ("table",),
            "extensions": ("file",),
        }
        for option, kinds in misplaced.items():
            if option in data and kind not in kinds:
                raise self.fail(f"{key}.{option}", f"is not allowed for kind '{kind}'")
        choices: tuple[Choice, ...] = ()
        if kind == "choice":
            raw = self.items(data.get("choices"), f"{key}.choices")
            choices = tuple(self.choice(c, f"{key}.choices[{i}]") for i, c in enumerate(raw))
            self.unique([c.value for c in choices], f"{key}.choices")
        elif kind == "language":
            choices = tuple(Choice(lang, LANGUAGE_CHOICES_LABELS[lang]) for lang in LANGUAGES)
        bounds = {}
        for bound in ("minimum", "maximum"):
            value = data.get(bound)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise self.fail(f"{key}.{bound}", f"must be a number (got {value!r})")
            bounds[bound] = value
        required = data.get("required", True)
        if not isinstance(required, bool):
            raise self.fail(f"{key}.required", "must be true or false")
        columns: tuple[Column, ...] = ()
        if kind == "table":
            raw_columns = self.items(data.get("columns"), f"{key}.columns")
            columns = tuple(self.column(c, f"{key}.columns[{i}]") for i, c in enumerate(raw_columns))
            self.unique([c.name for c in columns], f"{key}.columns")
        extensions: tuple[str, ...] = ()
        if "extensions" in data:
            raw_ext = data["extensions"]
            if not isinstance(raw_ext, list) or not all(isinstance(e, str) and e.strip(". ") for e in raw_ext):
                raise self.fail(f"{key}.extensions", "must be a list of file suffixes like [csv, txt]")
            extensions = tuple(e.strip(". ").lower() for e in raw_ext)
        default = data.get("default", "en")
        if kind == "file" and isinstance(default, str) and default.strip():
            relative = Path(default.strip())
            default = str(relative if relative.is_absolute() else (ROOT / relative).resolve())
        result = Field(
            name=name,
            label=self.bilingual(data["label"], f"{key}.label"),
            kind=kind,
            default=default,
            choices=choices,
            minimum=bounds["minimum"],
            maximum=bounds["maximum"],
            info=self.bilingual(data["info"], f"{key}.info") if "info" in data else None,
            required=required,
            columns=columns,
            extensions=extensions,
        )
        if kind == "file" and not (isinstance(default, str) and default.strip()):
            raise self.fail(f"{key}.default", "must be the path of an existing file (relative to the project root)")
        try:
            checked = _check_value(result, result.default)
        except ValidationError as exc:
            raise self.fail(f"{key}.default", str(exc)) from None
        return replace(result, default=checked) if kind == "table" else result

    def column(self, data: Any, key: str) -> Column:
        self.mapping(data, key, {"name", "en", "zh"}, set())
        return Column(self.name(data["name"], f"{key}.name"),
                      Bilingual(en=self.text(data["en"], f"{key}.en"), zh=self.text(data["zh"], f"{key}.zh")))

    def pre_steps(self, data: Any, fields: dict[str, Field]) -> tuple[tuple[PreStep, ...], dict[str, str]]:
        """The `compute:` list, and the template variables it provides (variable -> step)."""
        _load_builtin_steps()
        if not isinstance(data, list):
            raise self.fail("compute", "must be a list of {step, inputs}")
        uses: list[PreStep] = []
        variables: dict[str, str] = {}
        for i, raw in enumerate(data):
            key = f"compute[{i}]"
            self.mapping(raw, key, {"step", "inputs"}, set())
            name = raw["step"]
            if name not in COMPUTE_STEPS:
                raise self.fail(f"{key}.step", f"unknown compute step {name!r} (known: {', '.join(sorted(COMPUTE_STEPS))})")
            step = COMPUTE_STEPS[name]
            key = f"compute.{name}"
            if any(u.step == name for u in uses):
                raise self.fail(key, f"step '{name}' is listed twice")
            inputs = self.mapping(raw["inputs"], f"{key}.inputs", set(step.inputs), set())
            for input_name, field_name in inputs.items():
                if field_name not in fields:
                    raise self.fail(f"{key}.inputs.{input_name}", f"{field_name!r} is not a field of this scenario")
            for var in step.variables:
                if var in fields or var in ITEM_VARS or var in variables:
                    raise self.fail(key, f"its variable ${var} clashes with a field or another step")
                variables[var] = name
            uses.append(PreStep(name, dict(inputs)))
        return tuple(uses), variables

    def params(self, data: Any, key: str, generator: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, "must be a mapping")
        allowed = {f.name for f in dc_fields(_REQUEST_TYPES[generator])} - _TEMPLATE_OWNED
        for name in data:
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(f"{key}.{name}", f"unknown {generator} parameter (allowed: {known})")
        return dict(data)

    def task(
        self, data: Any, key: str, earlier: dict[str, Task], fields: dict[str, Field], computed: Mapping[str, str]
    ) -> Task:
        optional = {"system_prompt", "params", "params_by_language", "uses", "for_each", "limit", "prompt_language",
                    "parse"}
        key = _named_key("tasks", data, key)
        data = self.mapping(data, key, {"name", "generator", "title", "prompt"}, optional)
        name = self.name(data["name"], f"{key}.name")
        key = f"tasks.{name}"
        if name in earlier:
            raise self.fail(f"{key}.name", f"duplicate task name '{name}'")
        if name in fields or name in ITEM_VARS or name in computed:
            raise self.fail(f"{key}.name", f"'{name}' is already a field, computed or reserved variable name")
        generator = data["generator"]
        if generator not in MODALITIES:
            raise self.fail(f"{key}.generator", f"unknown generator {generator!r} (allowed: {', '.join(MODALITIES)})")
        if "system_prompt" in data and generator != "text":
            raise self.fail(f"{key}.system_prompt", "only text tasks have a system prompt")

        def earlier_text_task(ref: Any, ref_key: str) -> str:
            if ref not in earlier:
                raise self.fail(ref_key, f"'{ref}' is not an earlier task of this scenario")
            if earlier[ref].generator != "text":
                kind = earlier[ref].generator
                raise self.fail(ref_key, f"'{ref}' makes {kind}, not text; only text outputs can be used")
            return ref

        uses_raw = data.get("uses", [])
        if not isinstance(uses_raw, list):
            raise self.fail(f"{key}.uses", "must be a list of task names")
        uses = tuple(earlier_text_task(u, f"{key}.uses") for u in uses_raw)
        self.unique(list(uses), f"{key}.uses")

        for_each, limit = data.get("for_each"), data.get("limit")
        if for_each is not None:
            splitter, _, source = str(for_each).partition(":")
            if splitter not in SPLITTERS or not source:
                known = ", ".join(sorted(SPLITTERS))
                raise self.fail(f"{key}.for_each", f"must be '<splitter>:<task>' with a splitter in: {known}")
            earlier_text_task(source, f"{key}.for_each")
        if limit is not None:
            if for_each is None:
                raise self.fail(f"{key}.limit", "only makes sense with for_each")
            if isinstance(limit, str):
                if limit not in fields or fields[limit].kind != "number":
                    raise self.fail(f"{key}.limit", f"'{limit}' is not a number field")
            elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise self.fail(f"{key}.limit", "must be a positive whole number or a number field's name")

        prompt_language = data.get("prompt_language")
        if prompt_language is not None and prompt_language not in LANGUAGES:
            raise self.fail(f"{key}.prompt_language", f"must be one of {LANGUAGES}")
        prompt = self.bilingual(data["prompt"], f"{key}.prompt", allow_plain=True)
        system = self.bilingual(data["system_prompt"], f"{key}.system_prompt") if "system_prompt" in data else None

        variables = set(fields) | set(uses) | set(computed) | (set(ITEM_VARS) if for_each else set())
        for language in LANGUAGES:
            self.template(prompt[language], f"{key}.prompt.{language}", variables)
            if system is not None:  # fixed text per language: no variables
                self.template(system[language], f"{key}.system_prompt.{language}", set())

        params = self.params(data.get("params", {}), f"{key}.params", generator)
        by_language_raw = data.get("params_by_language", {})
        self.mapping(by_language_raw, f"{key}.params_by_language", set(), set(LANGUAGES))
        by_language = {
            lang: self.params(p, f"{key}.params_by_language.{lang}", generator) for lang, p in by_language_raw.items()
        }
        return Task(
            name=name,
            generator=generator,
            title=self.bilingual(data["title"], f"{key}.title"),
            prompt=prompt,
            system_prompt=system,
            params=params,
            params_by_language=by_language,
            uses=uses,
            for_each=str(for_each) if for_each is not None else None,
            limit=limit,
            prompt_language=prompt_language,
            parse=self.parser(data.get("parse"), f"{key}.parse", generator),
        )

    def parser(self, name: Any, key: str, generator: str) -> str | None:
        if name is None:
            return None
        _load_builtin_steps()
        if generator != "text":
            raise self.fail(key, "only text tasks can be parsed")
        if name not in PARSERS:
            raise self.fail(key, f"unknown parser {name!r} (known: {', '.join(sorted(PARSERS))})")
        return name

    def template(self, text: str, key: str, variables: set[str]) -> None:
        for match in Template.pattern.finditer(text):
            if match.group("invalid") is not None:
                raise self.fail(key, f"invalid '$' at position {match.start()} (write $$ for a literal $)")
            name = match.group("named") or match.group("braced")
            if name is not None and name not in variables:
                raise self.fail(key, f"unknown variable ${name} (known: {', '.join(sorted(variables))})")

    def scenario(self, data: Any) -> Scenario:
        required = {"id", "api_name", "title", "description", "fields", "tasks"}
        optional = {"order", "tab", "disclaimer", "label_outputs", "review_tags", "examples", "compute", "chat"}
        data = self.mapping(data, "", required, optional)
        order = data.get("order", 1000)
        if isinstance(order, bool) or not isinstance(order, int):
            raise self.fail("order", "must be a whole number")
        label_outputs = data.get("label_outputs", False)
        if not isinstance(label_outputs, bool):
            raise self.fail("label_outputs", "must be true or false")

        fields: dict[str, Field] = {}
        for i, raw in enumerate(self.items(data["fields"], "fields")):
            f = self.field(raw, f"fields[{i}]")
            if f.name in fields or f.name in ITEM_VARS:
                raise self.fail(f"fields.{f.name}", f"duplicate or reserved field name '{f.name}'")
            fields[f.name] = f
        if sum(f.kind == "language" for f in fields.values()) > 1:
            raise self.fail("fields", "at most one field may have kind 'language'")

        pre_steps, computed = self.pre_steps(data["compute"], fields) if "compute" in data else ((), {})
        chat = None
        if "chat" in data:  # shown as a chat: the message box and the conversation fill these fields
            self.mapping(data["chat"], "chat", {"message", "history"}, set())
            chat = (data["chat"]["message"], data["chat"]["history"])
            for key, name in zip(("message", "history"), chat):
                if name not in fields or fields[name].kind not in ("text", "textarea"):
                    raise self.fail(f"chat.{key}", f"must name a text field (got {name!r})")

        tasks: dict[str, Task] = {}
        for i, raw in enumerate(self.items(data["tasks"], "tasks")):
            t = self.task(raw, f"tasks[{i}]", tasks, fields, computed)
            tasks[t.name] = t

        tags = []
        for i, raw in enumerate(data.get("review_tags", []) or []):
            self.mapping(raw, f"review_tags[{i}]", {"value", "en", "zh"}, set())
            value = self.name(raw["value"], f"review_tags[{i}].value")
            tags.append(ReviewTag(value, self.bilingual({"en": raw["en"], "zh": raw["zh"]}, f"review_tags.{value}")))
        self.unique([t.value for t in tags], "review_tags")

        scenario = Scenario(
            id=self.name(data["id"], "id"),
            api_name=self.name(data["api_name"], "api_name"),
            order=order,
            title=self.bilingual(data["title"], "title"),
            tab=self.bilingual(data.get("tab") or data["title"], "tab"),
            description=self.bilingual(data["description"], "description"),
            fields=tuple(fields.values()),
            tasks=tuple(tasks.values()),
            disclaimer=self.bilingual(data["disclaimer"], "disclaimer") if data.get("disclaimer") else None,
            label_outputs=label_outputs,
            review_tags=tuple(tags),
            examples=(),
            source=self.path,
            pre_steps=pre_steps,
            chat=chat,
        )
        examples = data.get("examples", []) or []
        if not isinstance(examples, list):
            raise self.fail("examples", "must be a list of mappings of field values")
        for i, example in enumerate(examples):
            if not isinstance(example, dict):
                raise self.fail(f"examples[{i}]", "must be a mapping of field values")
            try:
                scenario.validate_values(example)
            except ValidationError as exc:
                raise self.fail(f"examples[{i}].{exc.field}", str(exc)) from None
        return replace(scenario, examples=tuple(dict(e) for e in examples))


def load_scenario(path: str | Path) -> Scenario:
    """Load and check one scenario file."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except ScenarioError as exc:
        raise ScenarioError(str(exc).split(": ", 1)[-1], path, exc.key) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", path) from None
    return _Reader(path).scenario(data)


def load_scenarios(folder: str | Path | None = None) -> list[Scenario]:
    """Every ``*.yaml``/``*.yml`` scenario in ``folder``, ordered by ``order`` then id."""
    folder = Path(folder) if folder is not None else DEFAULT_FOLDER
    if not folder.is_dir():
        raise ScenarioError("scenario folder not found", folder)
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    scenarios = [load_scenario(p) for p in paths]
    for attr in ("id", "api_name"):
        seen: dict[str, Path | None] = {}
        for s in scenarios:
            value = getattr(s, attr)
            if value in seen:
                raise ScenarioError(f"duplicate {attr} '{value}' (also in {seen[value]})", s.source, attr)
            seen[value] = s.source
    return sorted(scenarios, key=lambda s: (s.order, s.id))
