"""Running a blind comparison: the same form, two variants, two recorded outputs, random order.

A variant is a small JSON object; every key is optional:

- ``label``: the name it goes by on the leaderboard (else made from what it sets);
- ``seed``: the seed (both sides share one random seed when neither sets it);
- ``params``: text generation parameters (``temperature``, ``top_p``, ``max_new_tokens``...);
- ``prompt``: a prompt template replacing the task's (scenario ``$field`` variables; in the
  playground ``$prompt`` is the typed prompt);
- ``system_prompt``: a system prompt replacing the task's;
- ``model``: the text model to run, one of the candidates of ``aigc_demo.model_choice`` (the
  configured model, the models its server lists at ``/v1/models``, or the preset's own local
  model when the operator replaced it); ``{"model": "openai:a"}`` against ``{"model":
  "openai:b"}`` compares two models. Anything else is refused with the list of choices.

An industry comparison runs the scenario's first (main) text task; the playground compares
text. Both outputs are recorded like any other run (each record names its model), and the
comparison row joins them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from aigc_demo import grounding
from aigc_demo.core.params import check_range
from aigc_demo.core.text import Bilingual
from aigc_demo.core.types import MAX_SEED, CancelToken, GenerationResult, ValidationError, resolve_seed
from aigc_demo.record.arena import Comparison, add_comparison, as_mapping
from aigc_demo.record.models import PLAYGROUND
from aigc_demo.scenarios import Scenario
from aigc_demo.scenarios.fields import ROOT
from aigc_demo.scenarios.model import Task
from aigc_demo.scenarios.runner import run_scenario
from aigc_demo.studio import RunContext, Studio

from .leaderboard import variant_name

VARIANT_KEYS = ("label", "seed", "params", "prompt", "system_prompt", "model")
DEFAULT_INDUSTRY = "retail"
DEFAULT_VARIANTS = ({"seed": 1}, {"seed": 2})
PLAYGROUND_PROMPT = "Write a two-sentence welcome message for a small neighbourhood coffee shop."
MAX_LABEL_CHARS = 60


@dataclass
class Side:
    """One side's output: the recorded result of the compared task."""

    text: str
    record_id: str
    result: GenerationResult


def parse_variant(value: Any, name: str, text_params: set[str],
                  model_ref: Callable[[Any], str] | None = None) -> dict[str, Any]:
    """A checked variant (see the module docstring); unknown keys and values are named.
    ``model_ref`` turns a chosen model into its full reference (or refuses it)."""
    variant = as_mapping(value, name)
    unknown = sorted(set(variant) - set(VARIANT_KEYS))
    if unknown:
        raise ValidationError(name, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(VARIANT_KEYS)}")
    out: dict[str, Any] = {}
    if variant.get("label") not in (None, ""):
        label = variant["label"]
        if not isinstance(label, str) or len(label.strip()) > MAX_LABEL_CHARS:
            raise ValidationError(f"{name}.label", f"must be text of at most {MAX_LABEL_CHARS} characters")
        out["label"] = label.strip()
    if variant.get("seed") is not None:
        out["seed"] = check_range(f"{name}.seed", variant["seed"], 0, MAX_SEED)
    params = as_mapping(variant.get("params"), f"{name}.params")
    bad = sorted(set(params) - text_params)
    if bad:
        raise ValidationError(f"{name}.params", f"unknown parameter(s) {', '.join(bad)}; known: {', '.join(sorted(text_params))}")
    if params:
        out["params"] = params
    for key in ("prompt", "system_prompt"):
        if variant.get(key) not in (None, ""):
            if not isinstance(variant[key], str):
                raise ValidationError(f"{name}.{key}", f"must be text (got {type(variant[key]).__name__})")
            out[key] = variant[key]
    if variant.get("model") not in (None, "") and model_ref is not None:
        try:
            out["model"] = model_ref(variant["model"])
        except ValidationError as error:  # named as the variant's field
            raise ValidationError(f"{name}.model", str(error).removeprefix("model: ")) from None
    return out


def _variant_task(task: Task, variant: Mapping[str, Any]) -> Task:
    """The task as ``variant`` changes it: parameters, prompt template, system prompt."""
    params = dict(variant.get("params") or {})
    changes: dict[str, Any] = {}
    if params:
        changes["params"] = {**task.params, **params}
        changes["params_by_language"] = {k: {**v, **params} for k, v in task.params_by_language.items()}
    if variant.get("prompt"):
        changes["prompt"] = Bilingual(variant["prompt"], variant["prompt"])
    if variant.get("system_prompt"):
        changes["system_prompt"] = Bilingual(variant["system_prompt"], variant["system_prompt"])
    return dataclasses.replace(task, **changes) if changes else task


def main_task(scenario: Scenario) -> Task:
    """The task a comparison judges: the scenario's first text task."""
    for task in scenario.tasks:
        if task.generator == "text":
            return task
    raise ValidationError("industry", f"{scenario.id} has no text output to compare")


def _run_scenario_side(studio: Studio, scenario: Scenario, values: Mapping[str, Any], variant: Mapping[str, Any],
                       seed: int, session_id: str, cancel: CancelToken) -> Side:
    task = main_task(scenario)
    one = dataclasses.replace(scenario, tasks=(_variant_task(task, variant),))
    state = None
    try:
        models = {"text": variant["model"]} if variant.get("model") else None
        for state in run_scenario(studio, one, dict(values), cancel=cancel, session_id=session_id, seed=seed,
                                  checker=grounding.checker, models=models):
            pass
    except (KeyError, ValueError) as error:  # a template naming a field the form does not have
        if isinstance(error, ValidationError):
            raise
        raise ValidationError("variant.prompt", f"cannot be filled from the form: {error}") from None
    results = state.results.get(task.name) if state else None
    if not results or not results[-1].record_id:
        raise ValidationError("comparison", "the run was stopped before both outputs were made")
    return Side(state.text.get(task.name, ""), results[-1].record_id, results[-1])


def _run_playground_side(studio: Studio, form: Mapping[str, Any], variant: Mapping[str, Any], seed: int,
                         session_id: str, cancel: CancelToken) -> Side:
    prompt = form.get("prompt") or PLAYGROUND_PROMPT
    if not isinstance(prompt, str):
        raise ValidationError("prompt", f"must be text (got {type(prompt).__name__})")
    if variant.get("prompt"):
        try:
            prompt = Template(variant["prompt"]).substitute(prompt=prompt)
        except (KeyError, ValueError) as error:
            raise ValidationError("variant.prompt", f"may use only $prompt ({error})") from None
    values = {k: v for k, v in form.items() if k != "prompt"}
    values.update(variant.get("params") or {}, seed=seed)
    if variant.get("system_prompt"):
        values["system_prompt"] = variant["system_prompt"]
    model = variant.get("model", "")
    request = studio.request("text", prompt, values, model=model)
    result = studio.run("text", request, cancel=cancel, context=RunContext(PLAYGROUND, "text", session_id, model=model))
    if not result.record_id or result.cancelled:
        raise ValidationError("comparison", "the run was stopped before both outputs were made")
    return Side(result.text or "", result.record_id, result)


def check_file_fields(scenario: Scenario, form: Mapping[str, Any], roots: Sequence[Path]) -> None:
    """A form sent as JSON could name any file on the server: file fields may only name their
    default, or a file under ``roots`` (where uploads land)."""
    for f in scenario.fields:
        value = form.get(f.name)
        if f.kind != "file" or value in (None, ""):
            continue
        raw = value.get("path") or value.get("name") if isinstance(value, Mapping) else value
        if not isinstance(raw, (str, Path)) or not str(raw).strip():
            continue
        path = Path(str(raw)).expanduser()
        path = (path if path.is_absolute() else ROOT / path).resolve()
        allowed = [(ROOT / str(f.default)).resolve()] if f.default else []
        if path in allowed or any(path.is_relative_to(Path(root).resolve()) for root in roots):
            continue
        raise ValidationError(f.name, "must be an uploaded file (or left empty for the worked example)")


def run_comparison(studio: Studio, scenarios: Mapping[str, Scenario], industry: str = DEFAULT_INDUSTRY,
                   form: Any = None, variant_a: Any = None, variant_b: Any = None, *, session_id: str = "",
                   cancel: CancelToken | None = None, shown: str | None = None,
                   upload_roots: Sequence[Path] = ()) -> tuple[Comparison, dict[str, Side]]:
    """Run both variants on the same form, record both outputs and the comparison.

    Returns the comparison and the sides by the label they are shown under ({"A": ..., "B": ...}).
    ``shown`` fixes the order ("ab"/"ba"; tests), else it is random. File fields may name only
    their default or a file under ``upload_roots``."""
    industry = (industry or DEFAULT_INDUSTRY).strip() if isinstance(industry, str) else industry
    if industry != PLAYGROUND and industry not in scenarios:
        raise ValidationError("industry", f"must be one of {', '.join([*scenarios, PLAYGROUND])} (got {industry!r})")
    text_params = set(studio.params("text")) - {"prompt", "seed"}
    given = (variant_a not in (None, "", {})) or (variant_b not in (None, "", {}))
    def model_ref(model: Any) -> str:  # a candidate's full reference ("" chooses the configured one)
        return studio.model_ref("text", studio.choose("text", model))

    a = parse_variant(variant_a if given else DEFAULT_VARIANTS[0], "variant_a", text_params, model_ref)
    b = parse_variant(variant_b if given else DEFAULT_VARIANTS[1], "variant_b", text_params, model_ref)
    if variant_name(a) == variant_name(b):
        raise ValidationError("variant_b", f"is the same as variant A ({variant_name(a)}); change its seed, "
                                           "parameters, prompt, model or label")
    form_values = as_mapping(form, "form")
    cancel = cancel or CancelToken()
    shared_seed = resolve_seed(-1)  # the sides differ only in what their variants set
    sides: dict[str, Side] = {}
    if industry == PLAYGROUND:
        task_name = "text"
        for key, variant in (("a", a), ("b", b)):
            sides[key] = _run_playground_side(studio, form_values, variant, variant.get("seed", shared_seed),
                                              session_id, cancel)
        inputs = form_values
    else:
        scenario = scenarios[industry]
        task_name = main_task(scenario).name
        check_file_fields(scenario, form_values, upload_roots)
        values = dict(scenario.validate_values({**scenario.defaults(), **form_values}))  # errors name the field
        for key, variant in (("a", a), ("b", b)):
            sides[key] = _run_scenario_side(studio, scenario, values, variant, variant.get("seed", shared_seed),
                                            session_id, cancel)
        inputs = values
    comparison = Comparison(scenario=industry, task=task_name, inputs=inputs, variant_a=a, variant_b=b,
                            record_a=sides["a"].record_id, record_b=sides["b"].record_id, session_id=session_id,
                            **({"shown": shown} if shown else {}))
    add_comparison(studio.store, comparison)
    first, second = ("a", "b") if comparison.shown == "ab" else ("b", "a")
    return comparison, {"A": sides[first], "B": sides[second]}
