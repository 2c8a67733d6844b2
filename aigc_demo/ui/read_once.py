"""Gradio's reading of a function's signature and type hints, done once per function.

Gradio 6.31 reads ``inspect.signature(cls.__init__)`` for every block each time it computes the
app's config (three times before the first page is served), ``inspect.getfullargspec`` of a
component class's ``__init__`` on every component it creates, and an event function's signature
and type hints four times when the event is wired (once more on every request). A function's
signature does not change, so for ~800 blocks that is most of the start-up this app costs beyond
a bare Gradio app (benchmarks/RESULTS.md, issue 15, round five).

:func:`install` gives those Gradio modules a view of ``inspect`` whose ``signature`` and
``getfullargspec`` remember their answer per function (and per method of a function), and
remembers ``gradio.utils.get_type_hints`` the same way. Anything else (a class, a callable
object, a call with options) is read as before. Remembered weakly: a function that goes away
takes its entry with it. Once per process; nothing changes on import.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import types
import weakref
from typing import Any, Callable

import gradio.utils as gradio_utils

# Gradio's modules that read signatures while blocks are made, configured or wired.
READERS = ("gradio.blocks", "gradio.component_meta", "gradio.utils", "gradio.helpers")
_INSTALLED = "_aigc_read_once"  # marks gradio.utils once installed


def remembered(read: Callable[..., Any], copy: Callable[[Any], Any] | None = None) -> Callable[..., Any]:
    """``read`` remembering its answer for each plain function, and each method of a plain
    function, that it is given alone (a bound method's answer does not depend on what it is bound
    to). ``copy`` is applied to each answer handed out (for answers the caller may change)."""
    answers: dict[type, weakref.WeakKeyDictionary[types.FunctionType, Any]] = {
        types.FunctionType: weakref.WeakKeyDictionary(), types.MethodType: weakref.WeakKeyDictionary()}

    @functools.wraps(read)
    def read_once(subject: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(subject)
        function = subject.__func__ if kind is types.MethodType else subject
        if args or kwargs or kind not in answers or type(function) is not types.FunctionType:
            return read(subject, *args, **kwargs)
        try:
            answer = answers[kind][function]
        except KeyError:
            answer = answers[kind][function] = read(subject)
        return copy(answer) if copy else answer

    read_once.answers = answers  # type: ignore[attr-defined]
    return read_once


def _inspect_reading_once() -> types.ModuleType:
    """A stand-in for ``inspect`` as Gradio's modules see it: the same, but for
    ``signature`` and ``getfullargspec`` (their answers are immutable; Gradio only reads them)."""
    view = types.ModuleType("inspect", "inspect as Gradio sees it (aigc_demo.ui.read_once)")
    view.__dict__.update(inspect.__dict__)
    view.signature = remembered(inspect.signature)  # type: ignore[attr-defined]
    view.getfullargspec = remembered(inspect.getfullargspec)  # type: ignore[attr-defined]
    return view


def install() -> None:
    """Make Gradio read each function's signature and type hints once (idempotent)."""
    if getattr(gradio_utils, _INSTALLED, False):
        return
    view = _inspect_reading_once()
    for name in READERS:
        module = importlib.import_module(name)
        if getattr(module, "inspect", None) is inspect:
            module.inspect = view  # type: ignore[attr-defined]
    gradio_utils.get_type_hints = remembered(gradio_utils.get_type_hints, copy=dict)  # a dict: copied
    setattr(gradio_utils, _INSTALLED, True)
