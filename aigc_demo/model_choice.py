"""Which model a request may choose ("candidates"), and the one check at the door.

A request names its model as a reference (``openai:qwen-coder``); "" is the configured model.
The candidates of a modality are:

- the configured model, always, and first (the default);
- a remote backend (``openai:``, and ``hf-inference:`` with an endpoint URL): every model its
  server lists at ``/v1/models``, same base URL and key, as ``<scheme>:<id>``. The list is kept
  for ``ttl`` seconds and asked with a short timeout; a server that does not answer leaves the
  configured model (the choices then carry the reason, and the default needs no listing);
- a local backend: the preset's own model for the modality when the operator replaced it
  (``--text-model``) with another local one. Nothing else: a link from the web must never make
  this server download or load a model that the operator did not choose.

Nothing here imports a model library or calls a server until a list is asked for.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from .core.types import ValidationError
from .settings import Settings, first_runnable, load_presets

LIST_TTL = 30.0  # seconds a server's model list is kept
FAILED_TTL = 5.0  # seconds a failed listing is kept (the server may be back soon)


@dataclass(frozen=True)
class Choices:
    """The models one modality may run: ``refs[0]`` is the configured one (the default)."""

    modality: str
    refs: tuple[str, ...]
    note: str = ""  # why the list holds only some (a server that did not answer), bilingual

    @property
    def default(self) -> str:
        return self.refs[0] if self.refs else ""

    def as_dict(self) -> dict[str, Any]:
        return {"default": self.default, "models": list(self.refs), "note": self.note}


def preset_model(settings: Settings, modality: str) -> str | None:
    """The preset's own model for ``modality`` (before any --<modality>-model override)."""
    preset = load_presets().get(settings.preset) or {}
    return first_runnable(modality, (preset.get("models") or {}).get(modality), [])


class ModelChoices:
    """The candidates of each modality (cached per server listing) and the check of a choice."""

    def __init__(self, settings: Settings, backend: Callable[[str], Any], ttl: float = LIST_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._backend = backend  # modality -> the configured model's backend (Studio.backend)
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Choices]] = {}
        self._lock = threading.Lock()

    def choices(self, modality: str, refresh: bool = False) -> Choices:
        """The candidates of ``modality`` (none when the preset has no model for it)."""
        configured = self.settings.model_for(modality)
        if not configured:
            return Choices(modality, ())
        backend = self._backend(modality)
        if not backend.remote:
            own = preset_model(self.settings, modality)
            local = own and own != configured and not getattr(self._class(modality, own), "remote", False)
            return Choices(modality, (configured, own) if local else (configured,))  # type: ignore[arg-type]
        now = self._clock()
        with self._lock:
            cached = self._cache.get(modality)
        if cached and not refresh and now < cached[0]:
            return cached[1]
        try:
            listed = [f"{backend.scheme}:{name}" for name in backend.list_models()]
            found, ttl = Choices(modality, tuple(dict.fromkeys([configured, *listed]))), self.ttl
        except Exception as error:  # the configured model stays; the reason goes with the list
            from .backends.remote_errors import classify

            found, ttl = Choices(modality, (configured,), note=str(classify(error, backend.server))), FAILED_TTL
        with self._lock:
            self._cache[modality] = (now + ttl, found)
        return found

    @staticmethod
    def _class(modality: str, ref: str) -> Any:
        from .backends import backend_class

        return backend_class(modality, ref)

    def resolve(self, modality: str, model: Any) -> str:
        """``model`` checked against the candidates: "" for the configured model (no listing
        needed), else the candidate's full reference; a ValidationError naming the field and
        listing the choices for anything else. A bare server model name (``echo``) is accepted
        for ``openai:echo``."""
        if model is None or model == "":
            return ""
        if not isinstance(model, str):
            raise ValidationError("model", f"must be text (got {type(model).__name__}) · 必须是文本")
        model = model.strip()
        if model in ("", self.settings.model_for(modality)):
            return ""
        found = self.choices(modality)
        bare = [ref for ref in found.refs if ref.partition(":")[2] == model]
        ref = model if model in found.refs else bare[0] if len(bare) == 1 else None
        if ref is None:
            listed = ", ".join(found.refs) or "(none)"
            why = f" — {found.note}" if found.note else ""  # the server did not list its models: why
            raise ValidationError("model", f"{model!r} is not a {modality} model this app offers; choose one of: "
                                           f"{listed} · {model!r} 不是本应用提供的 {modality} 模型；可选：{listed}{why}")
        return "" if ref == found.default else ref
