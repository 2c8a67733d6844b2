"""What industry code registers by name: pre-steps (``compute:``) and parsers (``parse:``)."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any, Callable


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
