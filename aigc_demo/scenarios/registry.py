"""What industry plugins register by name: compute steps (``compute:``) and parsers (``parse:``),
each together with the panels it shows beside the model's output.

A panel is plain data (:class:`PanelSpec`: a table, a line or bar chart, or a Markdown note);
a plugin also gives a pure function turning the step's data (``Computed.data``, or the
``Parsed`` result) into one value per panel. The UI draws them; nothing here imports Gradio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from aigc_demo.core.text import Bilingual

PANEL_KINDS = ("table", "line", "bar", "markdown")


@dataclass(frozen=True)
class Computed:
    """What a pre-step produced: template variables (text) and data for the UI (any object,
    e.g. the figures behind a table and a chart)."""

    variables: Mapping[str, str]
    data: Any = None
    language: str = "en"


@dataclass(frozen=True)
class Parsed:
    """What a parser read from a text output. ``ok`` False means it could not read it (the
    reason is in ``problem``); when ok, ``problem`` may list minor issues."""

    ok: bool
    value: Any = None
    problem: str = ""


@dataclass(frozen=True)
class PanelSpec:
    """One panel: a ``table``, a ``line`` or ``bar`` chart of columns ``x``/``y`` (one series per
    ``color`` value), or a ``markdown`` note."""

    kind: str
    title: Bilingual
    x: str = ""
    y: str = ""
    color: str = ""

    def __post_init__(self) -> None:
        if self.kind not in PANEL_KINDS:
            raise ValueError(f"unknown panel kind {self.kind!r} (allowed: {', '.join(PANEL_KINDS)})")
        if self.kind in ("line", "bar") and not (self.x and self.y):
            raise ValueError(f"a {self.kind} panel needs x and y columns")


PanelView = Callable[[Any, str], Sequence[Any]]  # (data, language) -> one value per panel


@dataclass(frozen=True)
class Panels:
    """The panels of one step or parser, and the function that fills them."""

    specs: tuple[PanelSpec, ...]
    view: PanelView

    def values(self, data: Any, language: str) -> list[Any]:
        """One value per panel: a table as ``{"headers", "data"}``, a chart as a plot payload,
        a note as Markdown text (``None`` leaves a panel empty)."""
        values = list(self.view(data, language))
        if len(values) != len(self.specs):
            raise ValueError(f"{self.view.__qualname__} gave {len(values)} values for {len(self.specs)} panels")
        return values


ComputeFn = Callable[[dict[str, Any], str], Computed]
ParseFn = Callable[[str], Parsed]


@dataclass(frozen=True)
class ComputeStep:
    """A registered pre-step: ``fn(inputs, language) -> Computed``. ``inputs`` maps the step's
    input names to checked field values (a table field as a list of {column: cell} rows)."""

    name: str
    inputs: tuple[str, ...]
    variables: tuple[str, ...]
    fn: ComputeFn
    panels: Panels


@dataclass(frozen=True)
class Parser:
    """A registered parser: ``fn(text) -> Parsed``, run on a task's text output."""

    name: str
    fn: ParseFn
    panels: Panels


COMPUTE_STEPS: dict[str, ComputeStep] = {}
PARSERS: dict[str, Parser] = {}


def _panels(name: str, specs: Sequence[PanelSpec], view: PanelView) -> Panels:
    specs = tuple(specs)
    if not specs or not all(isinstance(s, PanelSpec) for s in specs):
        raise ValueError(f"'{name}' must show one or more PanelSpec")
    if not callable(view):
        raise ValueError(f"'{name}' needs a view: (data, language) -> one value per panel")
    return Panels(specs, view)


def _add(table: dict[str, Any], entry: ComputeStep | Parser) -> None:
    if entry.name in table:
        raise ValueError(f"'{entry.name}' is already registered (by {table[entry.name].fn.__module__})")
    table[entry.name] = entry


def register_compute(
    name: str, inputs: Sequence[str], variables: Sequence[str], *, panels: Sequence[PanelSpec], view: PanelView
) -> Callable[[ComputeFn], ComputeFn]:
    """Register ``fn(inputs, language) -> Computed`` as compute step ``name`` (for ``compute:``),
    with the ``panels`` it shows and ``view(Computed.data, language)`` filling them."""

    shown = _panels(name, panels, view)

    def decorate(fn: ComputeFn) -> ComputeFn:
        _add(COMPUTE_STEPS, ComputeStep(name, tuple(inputs), tuple(variables), fn, shown))
        return fn

    return decorate


def register_parser(name: str, *, panels: Sequence[PanelSpec], view: PanelView) -> Callable[[ParseFn], ParseFn]:
    """Register ``fn(text) -> Parsed`` as parser ``name`` (for a task's ``parse:``), with the
    ``panels`` it shows and ``view(Parsed, language)`` filling them."""

    shown = _panels(name, panels, view)

    def decorate(fn: ParseFn) -> ParseFn:
        _add(PARSERS, Parser(name, fn, shown))
        return fn

    return decorate
