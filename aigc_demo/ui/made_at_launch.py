"""Gradio's whole-app config and FastAPI app made once, when the app launches.

Gradio makes a FastAPI app (every route registered, with its pydantic models) when a Blocks is
created, computes the config of every block and makes the app again when it closes, and once
more in ``queue()``; ``launch()`` then makes both anew, and only that app serves. For this app's
~800 blocks the unused rounds cost 0.5-0.8 s of start-up and 3.6 MiB of idle memory
(benchmarks/RESULTS.md, issue 15, round four). Inside :func:`deferred` they are skipped for the
Blocks built in this thread, which leaves them with an empty config until ``launch()`` (or
``gr.mount_gradio_app``) makes it, or ``get_api_info`` needs it first (then it is made there).
Other threads are left as they are. Nothing changes on import.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import gradio as gr
from gradio.routes import App

_WRAPPED = "_aigc_made_at_launch"  # marks Gradio's methods once wrapped here
_building = threading.local()  # .active: this thread is inside deferred()


@contextmanager
def deferred() -> Iterator[None]:
    """No app and an empty config for the Blocks this thread builds while the block runs."""
    _wrap_once()
    outer = getattr(_building, "active", False)
    _building.active = True
    try:
        yield
    finally:
        _building.active = outer


def _wrap_once() -> None:
    if getattr(App.create_app, _WRAPPED, False):
        return
    App.create_app = staticmethod(_unless_building(App.create_app, _no_new_app))  # type: ignore[method-assign]
    gr.Blocks.get_config_file = _unless_building(gr.Blocks.get_config_file, _no_config)  # type: ignore[method-assign]
    gr.Blocks.get_api_info = _config_made_first(gr.Blocks.get_api_info)  # type: ignore[method-assign]


def _config_made_first(get_api_info: Callable[..., Any]) -> Callable[..., Any]:
    """Gradio's ``get_api_info``, which reads the config: made first if not made yet."""
    @functools.wraps(get_api_info)
    def wrapper(self: gr.Blocks, *args: Any, **kwargs: Any) -> Any:
        if not self.config:
            self.config = self.get_config_file()
        return get_api_info(self, *args, **kwargs)

    return wrapper


def _no_new_app(blocks: gr.Blocks, *_: Any, **__: Any) -> Any:
    return getattr(blocks, "app", None)


def _no_config(*_: Any) -> dict[str, Any]:
    return {}


def _unless_building(method: Callable[..., Any], instead: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return (instead if getattr(_building, "active", False) else method)(*args, **kwargs)

    setattr(wrapper, _WRAPPED, True)
    return wrapper
