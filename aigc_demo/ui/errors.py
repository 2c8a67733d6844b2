"""The one place an error becomes what a user sees.

Every event handler of the app is wrapped by :func:`guard_app` (after the app is built, so
none can be missed): an explained error (``StudioError``: validation, a model that cannot
load, out of memory) is shown as it is, without secrets; a full disk says so; anything else
becomes a plain message with a reference, and one log line (type, message, where) carries
the details for the operator - no traceback reaches the user, and none floods the log.
"""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
import uuid
from typing import Any, Callable

import gradio as gr

from aigc_demo.core.files import is_disk_full
from aigc_demo.core.types import DiskFull, StudioError
from ..security import redact

log = logging.getLogger("aigc_demo")

UNEXPECTED = ("Something went wrong on the server (reference {ref}). It has been logged; "
              "please try again, or change the input.")


def log_line(error: BaseException, where: str, ref: str) -> None:
    """One line for the operator: reference, handler, type, message (secrets redacted), and
    the innermost frame."""
    frames = traceback.extract_tb(error.__traceback__)
    at = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    message = " | ".join(redact(str(error)).splitlines())[:500]
    log.error("[aigc] error %s in %s: %s: %s%s", ref, where, type(error).__name__, message, at)


def as_user_error(error: Exception, where: str = "") -> gr.Error:
    """What the user sees for ``error``."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, StudioError) and not isinstance(error, DiskFull):
        return gr.Error(redact(str(error)), title=type(error).__name__, print_exception=False)
    ref = uuid.uuid4().hex[:8]
    log_line(error.__cause__ or error if isinstance(error, DiskFull) else error, where or "a handler", ref)
    if isinstance(error, DiskFull) or is_disk_full(error):
        return gr.Error(str(DiskFull()), title="DiskFull", print_exception=False)
    return gr.Error(UNEXPECTED.format(ref=ref), title="Unexpected error", print_exception=False)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (a function or a generator function) with its errors passed through
    :func:`as_user_error`; its signature, name and docstring are kept (Gradio reads them)."""
    if getattr(fn, "__user_errors__", False):
        return fn
    where = getattr(fn, "__name__", "handler")

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as error:
                raise as_user_error(error, where) from error

        stream.__user_errors__ = True  # type: ignore[attr-defined]
        return stream

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            raise as_user_error(error, where) from error

    call.__user_errors__ = True  # type: ignore[attr-defined]
    return call


def guard_app(demo: gr.Blocks) -> gr.Blocks:
    """Wrap every event handler of ``demo`` with :func:`user_errors` (once)."""
    for block_fn in demo.fns.values():
        if block_fn.fn is not None and not inspect.iscoroutinefunction(block_fn.fn) \
                and not inspect.isasyncgenfunction(block_fn.fn):
            block_fn.fn = user_errors(block_fn.fn)
    return demo
