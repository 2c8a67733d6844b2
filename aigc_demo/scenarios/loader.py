"""Strict YAML reading: one scenario file per industry under ``assets/scenarios``.

Everything is checked when the files load, so a typo fails loudly with the file and key
(:class:`ScenarioError`): unknown keys, missing variables, and every name a file uses (a
field, an earlier task, a splitter, a compute step or a parser; a plugin registers each step
and parser together with its panels, so what loads can be drawn). The plugins register
themselves when :func:`aigc_demo.industries.load_scenarios` loads them, before the files.
This module imports no model library (it is on the start-up path).
"""

from __future__ import annotations

import re
from dataclasses import replace
from collections.abc import Mapping
from pathlib import Path
from string import Template
from typing import Any

import yaml

from aigc_demo.core.params import PARAMS
from aigc_demo.core.text import LANGUAGES, Bilingual
from aigc_demo.core.types import MODALITIES, ValidationError
from aigc_demo.core.yaml_io import SafeLoader

from .fields import FIELD_KINDS, LANGUAGE_CHOICES_LABELS, ROOT, Choice, Column, Field, check_value
from .model import ITEM_VARS, PreStep, ReviewTag, Scenario, ScenarioError, Task
from .registry import COMPUTE_STEPS, PARSERS
from .splitters import SPLITTERS
from .structure import PART_KINDS, Column as PartColumn, Part

DEFAULT_FOLDER = ROOT / "assets" / "scenarios"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Request fields a scenario may not set through `params` (they come from the templates).
_TEMPLATE_OWNED = {"prompt", "system_prompt"}


class _StrictLoader(SafeLoader):
    """The safe loader (libyaml's when there is one) that refuses duplicate keys in a mapping."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ScenarioError(f"duplicate key '{key}' (line {key_node.start_mark.line + 1})", key=str(key))
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _unknown(kind: str, name: Any, registered: Mapping[str, Any]) -> str:
    """The message for a compute step or parser that no plugin registered."""
    if not registered:
        return f"unknown {kind} {name!r} (none is registered: load the plugins, e.g. aigc_demo.industries.load_scenarios)"
    return f"unknown {kind} {name!r} (known: {', '.join(sorted(registered))})"


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
            checked = check_value(result, result.default)
        except ValidationError as exc:
            raise self.fail(f"{key}.default", str(exc)) from None
        return replace(result, default=checked) if kind == "table" else result

    def column(self, data: Any, key: str) -> Column:
        self.mapping(data, key, {"name", "en", "zh"}, set())
        return Column(self.name(data["name"], f"{key}.name"),
                      Bilingual(en=self.text(data["en"], f"{key}.en"), zh=self.text(data["zh"], f"{key}.zh")))

    def pre_steps(self, data: Any, fields: dict[str, Field]) -> tuple[tuple[PreStep, ...], dict[str, str]]:
        """The `compute:` list, and the template variables it provides (variable -> step)."""
        if not isinstance(data, list):
            raise self.fail("compute", "must be a list of {step, inputs}")
        uses: list[PreStep] = []
        variables: dict[str, str] = {}
        for i, raw in enumerate(data):
            key = f"compute[{i}]"
            self.mapping(raw, key, {"step", "inputs"}, set())
            name = raw["step"]
            if not isinstance(name, str) or name not in COMPUTE_STEPS:
                raise self.fail(f"{key}.step", _unknown("compute step", name, COMPUTE_STEPS))
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
        declared = PARAMS[generator]
        allowed = set(declared) - _TEMPLATE_OWNED
        for name, value in data.items():
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(f"{key}.{name}", f"unknown {generator} parameter (allowed: {known})")
            try:
                declared[name].check(value)
            except ValidationError as error:
                raise self.fail(f"{key}.{name}", str(error).partition(": ")[2]) from None
        return dict(data)

    def task(
        self, data: Any, key: str, earlier: dict[str, Task], fields: dict[str, Field], computed: Mapping[str, str]
    ) -> Task:
        optional = {"system_prompt", "params", "params_by_language", "uses", "for_each", "limit", "prompt_language",
                    "parse", "structure"}
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
            structure=self.structure(data.get("structure"), f"{key}.structure", generator, set(fields)),
        )

    def choices_by_language(self, data: Any, key: str) -> dict[str, tuple[str, ...]] | None:
        """A column's allowed values: one list for both languages, or {en: [...], zh: [...]}."""
        if data is None:
            return None
        by_language = data if isinstance(data, dict) else {language: data for language in LANGUAGES}
        if set(by_language) != set(LANGUAGES) or not all(isinstance(v, list) and v for v in by_language.values()):
            raise self.fail(f"{key}.choices", "must be a list, or a list per language (en, zh)")
        return {language: tuple(str(v) for v in values) for language, values in by_language.items()}

    def structure(self, data: Any, key: str, generator: str, fields: set[str]) -> tuple[Part, ...]:
        """``structure:``: the parts of a structured text answer, in order."""
        if data is None:
            return ()
        if generator != "text" or not isinstance(data, list) or not data:
            raise self.fail(key, "must be a non-empty list of parts, on a text task")
        parts = []
        for index, raw in enumerate(data):
            part_key = f"{key}.{raw.get('name', index) if isinstance(raw, dict) else index}"
            raw = self.mapping(raw, part_key, {"name", "kind", "label"},
                               {"max_chars", "min_chars", "min_items", "max_items", "columns", "value"})
            if raw["kind"] not in PART_KINDS:
                raise self.fail(f"{part_key}.kind", f"must be one of {', '.join(PART_KINDS)}")
            columns = tuple(
                PartColumn(self.name(c["name"], f"{part_key}.columns"), self.bilingual(c["label"], f"{part_key}.columns"),
                           int(c.get("max_chars", 80)), self.choices_by_language(c.get("choices"), f"{part_key}.columns"))
                for c in (self.mapping(c, f"{part_key}.columns", {"name", "label"}, {"max_chars", "choices"})
                          for c in raw.get("columns", []))
            )
            if (raw["kind"] == "table") != bool(columns):
                raise self.fail(f"{part_key}.columns", "a table part needs columns, and only a table part has them")
            value = self.bilingual(raw["value"], f"{part_key}.value", allow_plain=True) if "value" in raw else None
            for language in LANGUAGES if value is not None else ():
                self.template(value[language], f"{part_key}.value.{language}", fields)
            parts.append(Part(self.name(raw["name"], f"{part_key}.name"), raw["kind"],
                              self.bilingual(raw["label"], f"{part_key}.label"), int(raw.get("max_chars", 200)),
                              int(raw.get("min_chars", 1)), int(raw.get("min_items", 1)), int(raw.get("max_items", 5)),
                              columns, value))
        self.unique([p.name for p in parts], key)
        return tuple(parts)

    def parser(self, name: Any, key: str, generator: str) -> str | None:
        if name is None:
            return None
        if generator != "text":
            raise self.fail(key, "only text tasks can be parsed")
        if not isinstance(name, str) or name not in PARSERS:
            raise self.fail(key, _unknown("parser", name, PARSERS))
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
