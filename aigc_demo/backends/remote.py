"""What every remote backend shares: its server, its key, its client, its health.

A remote backend runs no model here: ``load`` makes an HTTP client (cheap, no memory to
budget), and the studio asks it for that client directly instead of going through the model
manager. The server is named in every record (``Server.url``: the base URL without
credentials); the API key is read from the environment, registered as a secret (so the log
and the record redact it) and never stored anywhere else.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from aigc_demo.backends.base import Backend
from aigc_demo.backends.remote_errors import Server, classify, public_url
from aigc_demo.core.types import CancelToken, GenerationResult, TextRequest, request_params
from aigc_demo.security import register_secret

DEFAULT_TIMEOUT = 120.0
PLACEHOLDER_KEY = "no-key"  # local servers (llama.cpp, vLLM without --api-key) take any key


def api_key(modality: str, fallback_env: str) -> tuple[str | None, str]:
    """(key, the variable it came from): ``AIGC_<MODALITY>_API_KEY``, else ``fallback_env``."""
    for name in (f"AIGC_{modality.upper()}_API_KEY", fallback_env):
        value = os.environ.get(name, "").strip()
        if value:
            register_secret(value)
            return value, name
    return None, fallback_env


class RemoteBackend(Backend):
    """A backend whose model runs on a server (see the module docstring)."""

    remote: ClassVar[bool] = True
    key_env: ClassVar[str] = "OPENAI_API_KEY"
    default_url: ClassVar[str] = ""

    def __init__(self, name: str, *, cache_dir: Path | None = None, threads: int | None = None,
                 base_url: str | None = None, timeout: float | None = None) -> None:
        super().__init__(name, cache_dir=cache_dir, threads=threads)
        self.base_url = (base_url or os.environ.get(f"AIGC_{self.modality.upper()}_BASE_URL") or self.default_url).strip()
        self.timeout = float(timeout or DEFAULT_TIMEOUT)
        self._client: Any = None
        self._lock = threading.Lock()
        self._health: tuple[float, dict[str, Any]] | None = None

    @property
    def server(self) -> Server:
        return Server(self.modality, public_url(self.base_url) if self.base_url else "(default)", self.name,
                      self.timeout, self.key_env)

    def location(self) -> str:
        return f"{self.server.url} · {self.name}"

    def available_offline(self) -> bool:
        return True  # nothing to download; whether the server answers is its health

    def make_client(self) -> Any:
        raise NotImplementedError

    def client(self) -> Any:
        """The HTTP client (made once; safe to share between threads)."""
        with self._lock:
            if self._client is None:
                self._client = self.make_client()
            return self._client

    def load(self, device: str, dtype: Any) -> Any:
        return self.client()

    @staticmethod
    def sampling(request: TextRequest) -> dict[str, float]:
        """Temperature and top-p as chat servers take them (0 = greedy, top-p then meaningless)."""
        return {"temperature": request.temperature, "top_p": request.top_p} if request.temperature > 0 \
            else {"temperature": 0.0}

    def _result(self, request: Any, seed: int, started: float, files: list[Path], cancel: CancelToken | None,
                text: str | None = None, notes: tuple[str, ...] = (), server_note: str = "") -> GenerationResult:
        """The recorded result: this server and model named first, then ``notes``."""
        return GenerationResult(
            modality=self.modality, model_ref=f"{self.scheme}:{self.name}", seed=seed,
            params=request_params(request) | {"seed": seed}, text=text, files=files,
            generate_seconds=time.perf_counter() - started, cancelled=bool(cancel and cancel.cancelled),
            notes=[f"server {self.server.url}, model {self.name}{server_note}", *notes],
        )

    def list_models(self) -> list[str]:
        """The models the server offers (empty where it cannot say)."""
        return []

    def models_text(self) -> str:
        """The server's models for an error message, or "" when they cannot be listed."""
        try:
            return ", ".join(self.list_models()[:20])
        except Exception:
            return ""

    def health(self, max_age: float = 10.0) -> dict[str, Any]:
        """Whether the server answers, how fast, and the models it lists (cached ``max_age`` s)."""
        now = time.monotonic()
        if self._health and now - self._health[0] < max_age:
            return self._health[1]
        started = time.perf_counter()
        report: dict[str, Any] = {"server": self.server.url, "model": self.name, "scheme": self.scheme}
        try:
            models = self.list_models()
            report |= {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1), "models": models}
        except Exception as error:
            report |= {"ok": False, "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                       "error": str(classify(error, self.server))}
        self._health = (now, report)
        return report
