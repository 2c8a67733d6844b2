"""Per-session memory: what Gradio keeps for every browser session, made small.

For each new session Gradio's ``SessionState`` builds the config of every block at once
(``config_values``, kept for "deep links"). This app has about 600 blocks, so that is about
1 MB per session, kept for up to 10,000 sessions: memory grew by ~1 MB with every new visitor
or API client and was never given back. :class:`LeanSessionState` builds that config only
when something reads it (a deep link), and a block's entry only when it changes; everything
else is Gradio's own. :func:`install` puts it in place (once, when the app is built, not on
import); ``tests/test_sessions.py`` checks it against a bare Gradio app's growth.
"""

from __future__ import annotations

import datetime
import os
from copy import copy
from typing import Any

import gradio.state_holder as state_holder
from gradio.state_holder import SessionState


class LeanSessionState(SessionState):
    """Gradio's ``SessionState`` with ``config_values`` built on first read."""

    def __init__(self, blocks: Any) -> None:  # Gradio's __init__, less the eager config_values
        self.blocks_config = copy(blocks.default_config)
        self._blocks_for_config = blocks
        self._config_values: dict[int, Any] | None = None
        self._changed_config: dict[int, Any] = {}  # entries set before the full config was built
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    @property  # type: ignore[override]
    def config_values(self) -> dict[int, Any]:
        if self._config_values is None:
            blocks = self._blocks_for_config
            built = {k: self.blocks_config.config_for_block(k, [], v)
                     for k, v in self.blocks_config.blocks.items() if k in blocks.blocks}
            built.update(self._changed_config)
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
        if block:  # this block's config now differs from the app's: keep only it
            self._changed_config[key] = self.blocks_config.config_for_block(key, [], block)

    def _update_value_in_config(self, key: int, value: Any) -> None:
        if self._config_values is not None:
            super()._update_value_in_config(key, value)
            return
        if key not in self._changed_config:
            self._changed_config[key] = self.blocks_config.config_for_block(key, [], self.blocks_config.blocks[key])
        if "props" in self._changed_config[key]:
            self._changed_config[key]["props"]["value"] = value

    def _update_config(self, key: int) -> None:
        if self._config_values is not None:
            super()._update_config(key)
        elif self[key] is not None:
            self._changed_config[key] = self.blocks_config.config_for_block(key, [], self[key])


def install() -> None:
    """Make Gradio's per-session state lean (idempotent; affects this process's apps)."""
    state_holder.SessionState = LeanSessionState  # type: ignore[misc]
