"""Per-session runs: cancel tokens, progress adapters and user-facing errors."""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable

import gradio as gr

from aigc_demo.core.types import CancelToken, ProgressFn, StudioError
from ..security import redact, session_key


class SessionRuns:
    """One cancel token per (browser session, slot): a user can stop only their own run."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], CancelToken] = {}
        self._lock = threading.Lock()

    def start(self, session: str, slot: str) -> CancelToken:
        token = CancelToken()
        with self._lock:
            self._tokens[(session, slot)] = token
        return token

    def stop(self, session: str, slot: str) -> bool:
        with self._lock:
            token = self._tokens.get((session, slot))
        if token is None:
            return False
        token.cancel()
        return True

    def stop_handler(self, slot: str) -> Callable[[gr.Request], None]:
        """An event handler that stops the calling session's run in ``slot``."""

        def stop(request: gr.Request) -> None:
            self.stop(session_id(request), slot)

        return stop

    def finish(self, session: str, slot: str, token: CancelToken) -> None:
        with self._lock:
            if self._tokens.get((session, slot)) is token:
                del self._tokens[(session, slot)]


def session_id(request: gr.Request | None) -> str:
    """The session's key in records and run slots: a keyed hash of Gradio's session hash,
    which must stay secret (whoever knows it can send events as that session)."""
    return session_key(getattr(request, "session_hash", None)) or "api"


def progress_fn(progress: gr.Progress) -> ProgressFn:
    """Adapt the studio's progress(step, total, desc) to Gradio's progress bar."""

    def report(step: int, total: int, desc: str = "") -> None:
        progress((step, total), desc=desc, unit="steps")

    return report


def _as_user_error(error: Exception) -> gr.Error:
    """An explained error as it is; anything else named, never a bare traceback; no secrets."""
    if isinstance(error, StudioError):
        return gr.Error(redact(str(error)), title=type(error).__name__)
    return gr.Error(redact(f"Unexpected error ({type(error).__name__}): {error}"), title="Unexpected error")


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the studio's explained errors into Gradio error toasts (and API errors)."""

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as error:
                raise _as_user_error(error) from error

        return stream

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            raise _as_user_error(error) from error

    return call
