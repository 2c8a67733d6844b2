"""Per-session memory: what Gradio keeps for every browser session, made small.

For each new session Gradio's ``SessionState`` builds the config of every block at once
(``config_values``, kept for "deep links"). This app has about 600 blocks, so that is about
1 MB per session, kept for up to 10,000 sessions: memory grew by ~1 MB with every new visitor
or API client and was never given back. :class:`LeanSessionState` builds that config only
when something reads it (a deep link); a block that changes in a request is only noted until
then, so requests do no config work either. Everything else is Gradio's own. :func:`install`
puts it in place (once, when the app is built, not on import); ``tests/test_sessions.py``
checks it against a bare Gradio app's growth.
"""

from __future__ import annotations

import datetime
import os
from copy import copy
from typing import Any

import gradio.state_holder as state_holder
from gradio.state_holder import SessionState


_NO_VALUE = object()  # no value set in a changed block's config: the block's own


class LeanSessionState(SessionState):
    """Gradio's ``SessionState`` with ``config_values`` built on first read.

    A block that changes during a request (an output's new value, an update) is only noted,
    with the block object and value Gradio would build its config from; the config itself is
    built when ``config_values`` is read, so a request does no config work at all."""

    def __init__(self, blocks: Any) -> None:  # Gradio's __init__, less the eager config_values
        self.blocks_config = copy(blocks.default_config)
        self._blocks_for_config = blocks
        self._config_values: dict[int, Any] | None = None
        # block id -> (block its config comes from, value set in that config) for blocks changed
        # before the full config was built
        self._changed_config: dict[int, tuple[Any, Any]] = {}
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    @property  # type: ignore[override]
    def config_values(self) -> dict[int, Any]:
        if self._config_values is None:
            blocks, config = self._blocks_for_config, self.blocks_config
            built = {k: config.config_for_block(k, [], v) for k, v in config.blocks.items() if k in blocks.blocks}
            for key, (block, value) in self._changed_config.items():
                built[key] = config.config_for_block(key, [], block)
                if value is not _NO_VALUE and "props" in built[key]:
                    built[key]["props"]["value"] = value
            self._config_values, self._changed_config = built, {}
        return self._config_values

    @config_values.setter
    def config_values(self, value: dict[int, Any]) -> None:
        self._config_values = value

    def __setitem__(self, key: int, value: Any) -> None:
        if self._config_values is not None:
            super().__setitem__(key, value)
            return
        from gradio.components import State

        block = self.blocks_config.blocks.get(key)
        if isinstance(block, State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value
        if block:  # this block's config now differs from the app's (Gradio builds it from the old block)
            self._changed_config[key] = (block, _NO_VALUE)

    def _update_value_in_config(self, key: int, value: Any) -> None:
        if self._config_values is not None:
            super()._update_value_in_config(key, value)
            return
        block, _ = self._changed_config.get(key, (self.blocks_config.blocks[key], _NO_VALUE))
        self._changed_config[key] = (block, value)

    def _update_config(self, key: int) -> None:
        if self._config_values is not None:
            super()._update_config(key)
        elif (block := self[key]) is not None:
            self._changed_config[key] = (block, _NO_VALUE)


def install() -> None:
    """Make Gradio's per-session state lean (idempotent; affects this process's apps)."""
    state_holder.SessionState = LeanSessionState  # type: ignore[misc]
