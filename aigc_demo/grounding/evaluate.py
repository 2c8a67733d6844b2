"""Run the grounding checks over hand-made cases (``tests/data/grounding_cases.yaml``) and
tabulate the results: per industry, planted errors flagged and faithful outputs left alone.

A case is ``{id, industry, task, form, values, text, expect}``: ``form`` is ``default`` or
``example N`` (the scenario's N-th example), ``values`` changes fields on top of it, and
``expect`` lists every planted error as ``{kind, span}`` (empty for a faithful output).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from . import check, run_inputs

CASES_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "grounding_cases.yaml"
INDUSTRIES = ("market", "medical", "maintenance", "retail", "service", "film")


@dataclass(frozen=True)
class Outcome:
    case: Mapping[str, Any]
    flags: list[dict[str, Any]]
    missed: list[dict[str, str]]  # planted errors no flag points at
    unexpected: list[dict[str, Any]]  # flags that point at no planted error

    @property
    def planted(self) -> bool:
        return bool(self.case["expect"])

    @property
    def ok(self) -> bool:
        return not self.missed and not self.unexpected


def load_cases(path: Path | str = CASES_FILE) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def form_values(scenario: Any, case: Mapping[str, Any]) -> dict[str, Any]:
    form = str(case.get("form", "default"))
    base = dict(scenario.examples[int(form.split()[1]) - 1]) if form.startswith("example") else {}
    return {**base, **(case.get("values") or {})}


def inputs_of(scenario: Any, case: Mapping[str, Any]) -> Any:
    """The run inputs of a case: the checked form and the scenario's real pre-steps on it."""
    values = scenario.validate_values(form_values(scenario, case))
    language = scenario.language(values)
    computed = scenario.compute(values, language) if scenario.pre_steps else {}
    return run_inputs(scenario, case["task"], values, computed, language)


def _points_at(flag: Mapping[str, Any], expected: Mapping[str, str]) -> bool:
    span, want = flag["span"], str(expected["span"])
    return flag["kind"] == expected["kind"] and (want in span or (span and span in want))


def evaluate(case: Mapping[str, Any], scenarios: Mapping[str, Any]) -> Outcome:
    flags = check(inputs_of(scenarios[case["industry"]], case), case["text"])
    expect = case["expect"] or []
    missed = [e for e in expect if not any(_points_at(f, e) for f in flags)]
    unexpected = [f for f in flags if not any(_points_at(f, e) for e in expect)]
    return Outcome(case, flags, missed, unexpected)


def results_table(outcomes: list[Outcome]) -> str:
    """The Markdown table of the README: per industry, planted errors flagged and faithful
    outputs without a flag."""
    lines = ["| Industry | Outputs with planted errors: all flagged | Planted errors flagged | Faithful outputs: no flag |",
             "|---|---|---|---|"]
    totals = [0] * 6
    for industry in INDUSTRIES:
        mine = [o for o in outcomes if o.case["industry"] == industry]
        bad = [o for o in mine if o.planted]
        good = [o for o in mine if not o.planted]
        errors = sum(len(o.case["expect"]) for o in bad)
        caught = errors - sum(len(o.missed) for o in bad)
        row = [sum(not o.missed for o in bad), len(bad), caught, errors, sum(not o.flags for o in good), len(good)]
        totals = [a + b for a, b in zip(totals, row)]
        lines.append(f"| {industry} | {row[0]} / {row[1]} | {row[2]} / {row[3]} | {row[4]} / {row[5]} |")
    lines.append(f"| **all** | **{totals[0]} / {totals[1]}** | **{totals[2]} / {totals[3]}** | **{totals[4]} / {totals[5]}** |")
    return "\n".join(lines)
