"""Which queue group a generation event runs in, and how many of its runs go at once.

Local models share one device: every event that runs one is in the ``gpu`` group, one at a
time. A remote model runs on a server that serves many requests at once, so an event whose
modalities are all remote gets a group of its own per modality set (``remote-text``...) with
``AIGC_REMOTE_CONCURRENCY`` runs at once: it neither waits for local runs nor blocks them,
and a dead text server cannot hold up the image tab.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..studio import Studio

GPU_GROUP = "gpu"
# /generate_image on a local model runs up to AIGC_MAX_BATCH_SIZE requests at once in its own
# group: they reach the studio's Batcher together and share one pipeline call (aigc_demo/batching.py).
IMAGE_GROUP = "gpu-image"
REMOTE_PREFIX = "remote-"
LIGHT_GROUP = "review"  # reviews and listings: their own queue group, never behind generation


def generation_group(studio: Studio, modalities: Iterable[str]) -> dict[str, Any]:
    """``concurrency_id`` and ``concurrency_limit`` for an event generating ``modalities``."""
    used = sorted(set(modalities))
    if used and all(studio.is_remote(m) for m in used):
        return {"concurrency_id": REMOTE_PREFIX + "-".join(used), "concurrency_limit": studio.settings.remote_concurrency}
    if used == ["image"] and studio.settings.max_batch_size > 1:
        return {"concurrency_id": IMAGE_GROUP, "concurrency_limit": studio.settings.max_batch_size}
    return {"concurrency_id": GPU_GROUP, "concurrency_limit": 1}


def is_generation(concurrency_id: str | None) -> bool:
    """Whether events of this group generate (and so are admitted per user by fairness)."""
    return concurrency_id in (GPU_GROUP, IMAGE_GROUP) or str(concurrency_id or "").startswith(REMOTE_PREFIX)
