"""Backends: one class per (modality, scheme) that loads a model and generates with it.

A model reference is ``scheme:name``: ``transformers:Qwen/Qwen2.5-0.5B-Instruct``,
``diffusers:stabilityai/sd-turbo``, ``tiny:image``. A reference with no known scheme (a Hub
id, a local folder or file) goes to the modality's default backend.

Adding a backend is one module with one :class:`~aigc_demo.backends.base.Backend` subclass,
plus one line in ``REGISTRY``. Backend modules import their libraries (torch, transformers,
diffusers) inside methods, so finding a backend class costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aigc_demo.core.types import MODALITIES

if TYPE_CHECKING:
    from aigc_demo.backends.base import Backend

# (modality, scheme) -> "module:Class"
REGISTRY: dict[tuple[str, str], str] = {
    ("text", "transformers"): "aigc_demo.backends.transformers_text:TransformersText",
    ("text", "gguf"): "aigc_demo.backends.llamacpp_text:LlamaCppText",
    ("text", "offline"): "aigc_demo.backends.smollm2:SmolLM2Text",
    ("text", "tiny"): "aigc_demo.backends.tiny:TinyText",
    ("image", "diffusers"): "aigc_demo.backends.diffusers_image:DiffusersImage",
    ("image", "tiny"): "aigc_demo.backends.tiny:TinyImage",
    ("audio", "bark"): "aigc_demo.backends.bark_audio:BarkAudio",
    ("audio", "piper"): "aigc_demo.backends.piper_audio:PiperAudio",
    ("audio", "tiny"): "aigc_demo.backends.tiny:TinyAudio",
    ("video", "diffusers"): "aigc_demo.backends.diffusers_video:DiffusersVideo",
    ("video", "tiny"): "aigc_demo.backends.tiny:TinyVideo",
    # Remote: the model runs on a server (backends.remote); nothing is loaded here.
    ("text", "openai"): "aigc_demo.backends.openai_remote:OpenAIText",
    ("image", "openai"): "aigc_demo.backends.openai_remote:OpenAIImage",
    ("audio", "openai"): "aigc_demo.backends.openai_remote:OpenAIAudio",
    ("text", "hf-inference"): "aigc_demo.backends.hf_inference:HFInferenceText",
    ("image", "hf-inference"): "aigc_demo.backends.hf_inference:HFInferenceImage",
    ("audio", "hf-inference"): "aigc_demo.backends.hf_inference:HFInferenceAudio",
    ("video", "hf-inference"): "aigc_demo.backends.hf_inference:HFInferenceVideo",
}
# What a reference without a scheme (a Hub id, a folder, a .gguf file) is loaded with.
DEFAULT_SCHEME = {"text": "transformers", "image": "diffusers", "audio": "bark", "video": "diffusers"}


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: which backend serves it, and the name that backend reads."""

    modality: str
    scheme: str
    name: str


def parse_ref(modality: str, ref: str) -> ModelRef:
    """``scheme:name`` -> ModelRef; a ValueError that says what is wrong and what is known."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; one of {', '.join(MODALITIES)}")
    ref = str(ref or "").strip()
    if not ref:
        raise ValueError(f"the {modality} model reference is empty")
    scheme, sep, name = ref.partition(":")
    schemes = {s for _, s in REGISTRY}
    if not sep or len(scheme) == 1 or scheme not in schemes and _looks_like_path(ref):
        return ModelRef(modality, DEFAULT_SCHEME[modality], ref)  # Hub id, folder, file, C:\...
    known = sorted(s for m, s in REGISTRY if m == modality)
    if scheme not in schemes:
        raise ValueError(f"{ref!r}: unknown backend {scheme!r} for {modality}; known: {', '.join(known)} "
                         "(or a Hub id / local path without a scheme)")
    if (modality, scheme) not in REGISTRY:
        makes = sorted(m for m, s in REGISTRY if s == scheme)
        raise ValueError(f"{ref!r}: the {scheme!r} backend makes {', '.join(makes)}, not {modality}; "
                         f"known for {modality}: {', '.join(known)}")
    if not name:
        raise ValueError(f"{ref!r}: no model name after '{scheme}:'")
    return ModelRef(modality, scheme, name)


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or Path(ref).expanduser().exists()


def backend_class(modality: str, ref: str) -> "type[Backend]":
    """The backend class serving ``ref`` for ``modality`` (its module is imported now)."""
    parsed = parse_ref(modality, ref)
    module, _, name = REGISTRY[(modality, parsed.scheme)].partition(":")
    return getattr(importlib.import_module(module), name)


def create(modality: str, ref: str, cache_dir: Path | None = None, threads: int | None = None,
           base_url: str | None = None, timeout: float | None = None) -> "Backend":
    """A backend instance for ``ref``, ready to load and generate. ``base_url`` and
    ``timeout`` reach remote backends only (their server)."""
    cls = backend_class(modality, ref)
    remote = {"base_url": base_url, "timeout": timeout} if getattr(cls, "remote", False) else {}
    return cls(parse_ref(modality, ref).name, cache_dir=cache_dir, threads=threads, **remote)
