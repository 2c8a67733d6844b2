"""A text streamer read in chunks of everything written since the last read, at most every 50 ms.

``transformers.TextIteratorStreamer`` hands text over piece by piece. A small or fast model
writes a piece every few milliseconds, and each piece then costs a full trip through Gradio's
streaming path (a few ms of Python that also holds back the model's own Python loop): on the
tiny preset 24 tokens took 3x the raw call over HTTP. Here the first piece is read at once,
later reads wait until ``min_interval`` has passed since the previous one (or the text has
ended) and take everything written meanwhile in one chunk. A model slower than one piece per
``min_interval`` is read piece by piece as before; a faster one is read 20 times a second, as
often as a reader can follow: over HTTP the tiny preset's 24 tokens cost 35 ms over the raw call
against 64 ms when read every 20 ms (``benchmarks/overhead.py``). No text is lost, reordered or
held back longer than ``min_interval``; the first piece is never held back. Imported lazily (it
imports transformers).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Iterator

from transformers import TextStreamer

MIN_READ_INTERVAL_S = 0.05


class CatchUpStreamer(TextStreamer):
    """``TextStreamer`` for ``generate(streamer=...)``; iterate it in the reading thread."""

    def __init__(self, tokenizer: Any, min_interval: float = MIN_READ_INTERVAL_S, **decode_kwargs: Any) -> None:
        super().__init__(tokenizer, skip_prompt=True, **decode_kwargs)
        self.min_interval = min_interval
        self._changed = threading.Condition()
        self._pieces: list[str] = []
        self._ended = False

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        """Called by ``generate`` (its thread) with each decoded piece; ``end()`` ends the stream."""
        with self._changed:
            # Wake the reader only when it waits for this: the first piece since its last read,
            # or the end. Waking it for every piece while it gathers would take the GIL from the
            # model's own loop for nothing.
            wake = (text and not self._pieces) or stream_end
            if text:
                self._pieces.append(text)
            self._ended = self._ended or stream_end
            if wake:
                self._changed.notify()

    def __iter__(self) -> Iterator[str]:
        last_read = float("-inf")
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pieces or self._ended)
                # Text is waiting: take it now if the last read was long enough ago, else let
                # more gather until then (the end of the text cuts the wait short).
                gather = last_read + self.min_interval - time.monotonic()
                self._changed.wait_for(lambda: self._ended, timeout=max(0.0, gather))
                text, self._pieces = "".join(self._pieces), []
                ended = self._ended
            last_read = time.monotonic()
            if text:
                yield text
            if ended and not text:
                return
