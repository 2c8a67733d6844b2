"""Backends whose models come from the Hugging Face Hub (or a local folder in the same layout)."""

from __future__ import annotations

from pathlib import Path

from aigc_demo.backends.base import Backend

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")


def local_copy(model_ref: str) -> Path | None:
    """A local path, or the Hugging Face cache's snapshot folder of a Hub id; None if neither."""
    if Path(model_ref).expanduser().exists():
        return Path(model_ref).expanduser()
    if model_ref.count("/") != 1:
        return None
    from huggingface_hub import constants  # light: no torch

    folder = Path(constants.HF_HUB_CACHE) / ("models--" + model_ref.replace("/", "--")) / "snapshots"
    return folder if folder.is_dir() and any(folder.iterdir()) else None


def weights_on_disk(model_ref: str) -> int:
    """Bytes of weight files a model has on this machine (0 when unknown)."""
    folder = local_copy(model_ref)
    if folder is None:
        return 0
    if folder.is_file():
        return folder.stat().st_size
    # the cache holds one folder per revision: count the newest only
    snapshots = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime) if folder.name == "snapshots" else [folder]
    root = snapshots[-1] if snapshots else folder
    return sum(p.stat().st_size for p in root.rglob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file())


class HubBackend(Backend):
    """Loads with ``from_pretrained`` from a Hub id, a cached snapshot or a local folder."""

    def available_offline(self) -> bool:
        return local_copy(self.location()) is not None

    def size_hint(self) -> int:
        return weights_on_disk(self.location())
