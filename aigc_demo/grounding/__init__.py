"""Grounding checks: code that reads a scenario's text output next to the run's inputs and
flags what the inputs do not back, so a reviewer sees what to look at.

=================  ==========================================================================
``market``         numbers vs the computed figures (rounding, %, signs), rose/fell vs the return
``medical``        findings, present/absent, sides and sizes vs the dictated findings
``maintenance``    signals, parts, numbers and limits vs the readings and equipment data
``retail``         numbers with units, features and absolute claims vs the product facts
``service``        numbers and promises vs the FAQ entries used; hand-over when not covered
``film``           speakers vs the character list; the number of scenes
=================  ==========================================================================

Each flag is ``{"kind", "span", "start", "end", "reason": {"en", "zh"}}`` (offsets into the
output text). Vocabularies and messages are data (``assets/grounding/terms.yaml``). Standard
library and PyYAML only: no model, a few milliseconds per output (benchmarks/grounding.py).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from . import film, maintenance, market, medical, retail, service  # noqa: F401  (they register their checks)
from .base import CHECKS, Flag, RunInputs
from .terms import reason

log = logging.getLogger(__name__)
Checker = Callable[[str], list[dict[str, Any]]]


def run_inputs(scenario: Any, task: str, values: Mapping[str, Any], computed: Mapping[str, Any] | None = None,
               language: str = "en") -> RunInputs:
    """The inputs of a run of ``scenario`` (a Scenario): checked form values, the pre-steps'
    results and the labels of the chosen choices, in both languages."""
    labels: list[str] = []
    for field in scenario.fields:
        for choice in field.choices:
            if choice.value == values.get(field.name):
                labels += [choice.label["en"], choice.label["zh"]]
    return RunInputs(scenario.id, task, dict(values), dict(computed or {}), tuple(labels), language)


def check(inputs: RunInputs, text: str) -> list[dict[str, Any]]:
    """The flags of one text output, JSON-ready; none for a scenario without a check. A check
    that fails says so as a flag of its own: the output is recorded all the same."""
    fn = CHECKS.get(inputs.scenario)
    if fn is None or not text or not text.strip():
        return []
    try:
        return [f.as_dict() for f in fn(inputs, text)]
    except Exception as error:  # a bug here must never lose a record
        log.exception("grounding check of %s/%s failed", inputs.scenario, inputs.task)
        detail = f"{type(error).__name__}: {error}"[:200]
        return [{"kind": "check_error", "span": "", "start": 0, "end": 0,
                 "reason": reason("check_error", inputs.scenario, detail=detail)}]


def checker(scenario: Any, task: str, values: Mapping[str, Any], computed: Mapping[str, Any] | None,
            language: str) -> Checker | None:
    """``text -> flags`` for one task of a scenario run (its footer - disclaimer, AI label -
    is not checked); None when the scenario has no check."""
    if scenario.id not in CHECKS:
        return None
    inputs = run_inputs(scenario, task, values, computed, language)
    return lambda text: check(inputs, scenario.strip_finish(text or ""))


__all__ = ["CHECKS", "Checker", "Flag", "RunInputs", "check", "checker", "run_inputs"]
