"""Per-session runs: cancel tokens and progress adapters (errors: ``ui.errors``)."""

from __future__ import annotations

import inspect
import threading
from typing import Any, Callable

import gradio as gr

from aigc_demo.core.types import CancelToken, ProgressFn
from ..security import session_key


class SessionRuns:
    """One cancel token per (browser session, slot): a user can stop only their own run."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], CancelToken] = {}
        self._lock = threading.Lock()
        self.on_start: Callable[[], None] | None = None  # e.g. start the disconnect watch

    def start(self, session: str, slot: str) -> CancelToken:
        token = CancelToken()
        with self._lock:
            self._tokens[(session, slot)] = token
        if self.on_start is not None:
            self.on_start()
        return token

    def cancel_where(self, gone: Callable[[str], bool]) -> int:
        """Cancel the runs of every session for which ``gone(session)`` is true; returns how many."""
        with self._lock:
            running = list(self._tokens.items())
        cancelled = 0
        for (session, _), token in running:
            if not token.cancelled and gone(session):
                token.cancel()
                cancelled += 1
        return cancelled

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


def reviewer_id(request: gr.Request | None, logins: bool) -> str:
    """Who is reviewing: with logins (``--auth``) the login name; without, this browser
    session's guest id (from its keyed session id). Never a name the client sends."""
    user = getattr(request, "username", None)
    if logins and user:
        return str(user)
    key = session_key(getattr(request, "session_hash", None))
    return f"guest-{key[2:14]}" if key else "guest-api"


def progress_fn(progress: gr.Progress) -> ProgressFn:
    """Adapt the studio's progress(step, total, desc) to Gradio's progress bar."""

    def report(step: int, total: int, desc: str = "") -> None:
        progress((step, total), desc=desc, unit="steps")

    return report


def with_request_args(fn: Callable[..., Any], names: list[str], api_name: str) -> Callable[..., Any]:
    """Give ``fn(*args)`` the named parameters ``names`` plus Gradio's request and progress,
    so the API shows those names and Gradio passes the session and a progress tracker."""
    Param = inspect.Parameter
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [Param(n, Param.POSITIONAL_OR_KEYWORD) for n in names]
        + [Param("request", Param.POSITIONAL_OR_KEYWORD, annotation=gr.Request),
           Param("progress", Param.POSITIONAL_OR_KEYWORD, default=gr.Progress())]
    )
    fn.__annotations__ = {"request": gr.Request}
    fn.__name__ = api_name
    return fn
