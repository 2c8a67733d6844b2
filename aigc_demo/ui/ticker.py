"""A run's snapshots at least once a second, so its status line keeps ticking while a model
loads or a long step runs (the runner itself yields only when something changes)."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")
_END = object()


def every(items: Iterator[T], seconds: float = 1.0, on_close: Callable[[], None] = lambda: None) -> Iterator[T]:
    """Yield what ``items`` yields (consumed in a worker thread, one item at a time), and the
    latest item again after each ``seconds`` without a new one. Errors reach the caller; when the
    caller stops early, ``on_close`` is called (e.g. cancel the run) and the worker ends."""
    box: queue.Queue = queue.Queue(maxsize=1)
    taken = threading.Event()
    closing = threading.Event()

    def hand_over(item: object) -> bool:
        """Put ``item`` for the consumer; False when the consumer has gone."""
        while not closing.is_set():
            try:
                box.put(item, timeout=0.5)
                return True
            except queue.Full:
                pass
        return False

    def produce() -> None:
        try:
            for item in items:
                taken.clear()
                if not hand_over(item):
                    break
                while not taken.wait(0.5):  # the consumer shows one item before the next is made
                    if closing.is_set():
                        break
                if closing.is_set():
                    break
            else:
                hand_over(_END)
        except BaseException as error:  # handed to the consumer, raised there
            hand_over(error)
        finally:
            getattr(items, "close", lambda: None)()

    worker = threading.Thread(target=produce, name="run-ticker", daemon=True)
    worker.start()
    latest: object = _END
    try:
        while True:
            try:
                item = box.get(timeout=seconds)
            except queue.Empty:
                if latest is not _END:
                    yield latest  # type: ignore[misc]
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            latest = item
            yield item  # type: ignore[misc]
            taken.set()
    finally:
        if worker.is_alive():
            closing.set()
            taken.set()
            on_close()
