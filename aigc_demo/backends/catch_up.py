"""A text streamer whose reader catches up: each read returns all text written since the last.

``transformers.TextIteratorStreamer`` hands text over piece by piece, so a reader slower than
the model (Gradio's path costs a few ms per streamed chunk, a tiny or fast model makes a token
in less) falls further behind with every piece and finishes late. Here a read waits only for
the first piece and takes everything queued behind it in one chunk: a fast reader still gets
every piece as it comes, a slow one gets fewer, larger chunks and never lags by more than one.
No text is lost or reordered; only how it is cut into chunks changes. Imported lazily (it
imports transformers)."""

from __future__ import annotations

import threading
from typing import Any, Iterator

from transformers import TextStreamer


class CatchUpStreamer(TextStreamer):
    """``TextStreamer`` for ``generate(streamer=...)``; iterate it in the reading thread."""

    def __init__(self, tokenizer: Any, **decode_kwargs: Any) -> None:
        super().__init__(tokenizer, skip_prompt=True, **decode_kwargs)
        self._changed = threading.Condition()
        self._pieces: list[str] = []
        self._ended = False

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        """Called by ``generate`` (its thread) with each decoded piece; ``end()`` ends the stream."""
        with self._changed:
            if text:
                self._pieces.append(text)
            self._ended = self._ended or stream_end
            self._changed.notify()

    def __iter__(self) -> Iterator[str]:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pieces or self._ended)
                text, self._pieces = "".join(self._pieces), []
                ended = self._ended
            if text:
                yield text
            if ended and not text:
                return
