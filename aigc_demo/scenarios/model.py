"""The scenario data model: a :class:`Scenario` with its form :class:`Field` s and :class:`Task` s.

Each task is one generator call with a ``string.Template`` prompt per output language. A task
may use the text output of an earlier task (``uses: [copy]`` makes ``$copy`` available) or run
once per item of an earlier text output (``for_each: scenes:screenplay`` gives ``$item`` and
``$index``). Pre-steps (``compute:``) turn form values into template variables before any model
runs, and a task may name a parser (``parse:``) that reads structure out of its text output;
both come from :mod:`.registry`. Scenarios are read from YAML by :mod:`.loader`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field as dc_field, replace
from pathlib import Path
from string import Template
from typing import Any, TypeGuard

from aigc_demo.core.text import AI_LABEL, LANGUAGES, Bilingual, lang
from aigc_demo.core.types import ValidationError

from .fields import Field, check_value, display_value
from .registry import COMPUTE_STEPS, PARSERS, Computed, Panels, Parsed
from .splitters import split
from .structure import Part

ITEM_VARS = ("item", "index")  # the variables of a for_each task


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
    structure: tuple[Part, ...] = ()  # the parts of a structured text answer (JSON-constrained, shown as Markdown)

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


@dataclass(frozen=True)
class PreStep:
    """One use of a compute step in a scenario: ``{step: market_figures, inputs: {prices: csv}}``."""

    step: str
    inputs: Mapping[str, str]  # step input name -> field name


class FormValues(Mapping[str, Any]):
    """A scenario's form values as :meth:`Scenario.validate_values` returns them: complete,
    coerced and read-only, so the scenario trusts them instead of checking them again."""

    __slots__ = ("scenario", "_values")

    def __init__(self, scenario: Scenario, values: Mapping[str, Any]) -> None:
        self.scenario = scenario
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"FormValues({self._values!r})"


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
    pre_steps: tuple[PreStep, ...] = ()  # the `compute:` list, run before the tasks
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

    def validate_values(self, values: Mapping[str, Any] | None = None) -> FormValues:
        """Fill defaults for missing (None) values, coerce numbers, map choice labels to
        values and check ranges; raise ValidationError(field, message).

        The result is trusted from then on: given back to any method of this scenario, it
        passes through unchecked (the form is validated once, at the door)."""
        if self._trusts(values):
            return values
        values = dict(values or {})
        names = {f.name for f in self.fields}
        for key in values:
            if key not in names:
                raise ValidationError(key, f"is not a field of scenario '{self.id}'")
        return FormValues(self, {f.name: check_value(f, values.get(f.name)) for f in self.fields})

    def _trusts(self, values: Mapping[str, Any] | None) -> TypeGuard[FormValues]:
        return isinstance(values, FormValues) and values.scenario is self

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
        if self._trusts(values):
            return values[lang_field.name]
        return check_value(lang_field, (values or {}).get(lang_field.name))

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
        computed: Mapping[str, Computed] | None = None,
    ) -> str:
        """The prompt of ``task``: the template of the output language with every ``$var``
        filled (choices as labels in that language, earlier outputs without their footer,
        tables as Markdown, files by name). Variables of pre-steps come from ``computed``
        (the result of :meth:`compute`) or, when it is not given, are computed here."""
        task = self._task(task)
        return self._substitute(task, task.prompt, values, outputs or {}, item, index, computed)

    def fixed_parts(self, task: Task | str, values: Mapping[str, Any] | None) -> dict[str, str]:
        """The parts of a structured answer that code fills from the form (``value:``)."""
        task = self._task(task)
        return {p.name: self._substitute(task, p.value, values, {}, None, None)
                for p in task.structure if p.value is not None}

    # -------------------------------------------------------------- pre-steps and parsers

    def compute(self, values: Mapping[str, Any] | None = None, language: str | None = None) -> dict[str, Computed]:
        """Run every pre-step on the checked form ``values``: ``{step name: Computed}``.

        A step's ValidationError names the form field it came from (e.g. a bad CSV)."""
        checked = self.validate_values(values)
        language = lang(language or self.language(checked))
        return {use.step: self._run_step(use, checked, language) for use in self.pre_steps}

    def computed_variables(self) -> dict[str, str]:
        """Every template variable a pre-step provides -> the step's name."""
        return {var: use.step for use in self.pre_steps for var in COMPUTE_STEPS[use.step].variables}

    def parse_output(self, task: Task | str, text: str) -> Parsed | None:
        """Run the task's parser (``parse:``) on its text output (footer removed); None when
        the task has no parser."""
        task = self._task(task)
        if task.parse is None:
            return None
        return PARSERS[task.parse].fn(self.strip_finish(text or ""))

    def panels(self) -> list[tuple[str, Panels]]:
        """What code shows beside the outputs, in order: the panels of each pre-step (keyed by
        the step's name), then those of each task with a parser (keyed by the task's name)."""
        return ([(use.step, COMPUTE_STEPS[use.step].panels) for use in self.pre_steps]
                + [(t.name, PARSERS[t.parse].panels) for t in self.tasks if t.parse])

    def _run_step(self, use: PreStep, checked: Mapping[str, Any], language: str) -> Computed:
        step = COMPUTE_STEPS[use.step]
        inputs = {}
        for name, field_name in use.inputs.items():
            f = self.field(field_name)
            inputs[name] = f.row_mappings(checked[field_name]) if f.kind == "table" else checked[field_name]
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
        computed: Mapping[str, Computed] | None = None,
    ) -> str:
        checked = self.validate_values(values)
        language = task.prompt_language or self.language(checked)
        mapping: dict[str, str] = {}
        for f in self.fields:
            mapping[f.name] = display_value(f, checked[f.name], language)
        text = template[language]
        for use in self.pre_steps:  # only the steps whose variables this template refers to run
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
