"""Parameters declared once: name, kind, limits, widget step and help text (en/zh).

A :class:`Param` checks one value (the studio validates every request with it, once, at the
door); the playground draws its widget from the same object; presets' defaults and scenario
caps are checked against it. Defaults come from the request dataclasses in ``core.types``,
so each fact is written in one place.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from aigc_demo.core.text import Bilingual
from aigc_demo.core.types import (
    MAX_SEED,
    AudioRequest,
    ImageRequest,
    Request,
    TextRequest,
    ValidationError,
    VideoRequest,
)

MAX_PROMPT_CHARS = 4000
KINDS = ("prompt", "text", "int", "float", "choice", "json")


def check_prompt(prompt: Any, field_name: str = "prompt", max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Strip control characters; reject empty or over-long prompts."""
    if not isinstance(prompt, str):
        raise ValidationError(field_name, "must be text")
    cleaned = "".join(ch for ch in prompt if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise ValidationError(field_name, "is empty; please describe what you want")
    if len(cleaned) > max_chars:
        raise ValidationError(field_name, f"is {len(cleaned)} characters; the limit is {max_chars}")
    return cleaned


def check_range(field_name: str, value: Any, low: float, high: float, kind: type = int) -> Any:
    """Coerce to ``kind`` and check low <= value <= high."""
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        if kind is int and _number(value) == _number(value):  # a number, but not a whole one
            raise ValidationError(field_name, f"must be a whole number between {low} and {high} (got {value})") from None
        raise ValidationError(field_name, f"must be a number between {low} and {high}") from None
    if kind is int and not isinstance(value, bool) and _number(value) != number:  # 1.5 is not 1
        raise ValidationError(field_name, f"must be a whole number between {low} and {high} (got {value})")
    if isinstance(value, bool) or not (low <= number <= high):
        raise ValidationError(field_name, f"must be between {low} and {high} (got {value})")
    return number


def snap(value: int, multiple: int, minimum: int | None = None) -> int:
    """Round to the nearest multiple (at least ``minimum`` or one multiple)."""
    return max(minimum or multiple, int(round(value / multiple)) * multiple)


@dataclass(frozen=True)
class Param:
    """One request parameter: how it is checked, drawn and explained."""

    name: str
    kind: str  # prompt (required text) | text | int | float | choice
    label: Bilingual
    help: Bilingual | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None  # the widget's step
    multiple: int | None = None  # values are snapped to a multiple of this (sizes)
    choices: tuple[str, ...] = ()  # for kind "choice" (what a widget offers); "" (none) is allowed
    aliases: tuple[str, ...] = ()  # other accepted spellings of the choices
    choice_hint: str = ""  # what the error says about the valid choices
    max_chars: int | None = None  # for text kinds
    advanced: bool = False  # drawn inside the folded "Settings"
    default: Any = None  # filled from the request dataclass by Params

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"param {self.name}: unknown kind {self.kind!r}")

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")

    def check(self, value: Any, max_chars: int | None = None) -> Any:
        """The value, coerced and checked, or a ValidationError naming this parameter.

        ``max_chars`` (the app's prompt limit) can only lower a text limit."""
        if self.kind in ("prompt", "text", "choice"):
            return self._check_text(value, max_chars)
        if self.kind == "json":
            return self._check_json(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(self.name, f"must be a finite number (got {value})")
        if isinstance(value, (list, tuple, dict, set)):
            raise ValidationError(self.name, f"must be a single number (got a {type(value).__name__})")
        number = check_range(self.name, value, self.minimum, self.maximum, int if self.kind == "int" else float)
        return snap(number, self.multiple) if self.multiple else number

    def _check_json(self, value: Any) -> str:
        """Empty, or the text of one JSON object (kept as sent)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return ""
        if not isinstance(value, str):
            raise ValidationError(self.name, f"must be JSON text (got {type(value).__name__})")
        if len(value) > (self.max_chars or MAX_PROMPT_CHARS):
            raise ValidationError(self.name, f"is {len(value)} characters; the limit is {self.max_chars or MAX_PROMPT_CHARS}")
        try:
            parsed = json.loads(value)
        except ValueError as error:
            raise ValidationError(self.name, f"is not valid JSON ({error})") from None
        if not isinstance(parsed, dict):
            raise ValidationError(self.name, "must be a JSON object (a JSON schema)")
        return value.strip()

    def _check_text(self, value: Any, max_chars: int | None) -> str:
        if value is None and self.kind != "prompt":
            return ""
        if not isinstance(value, str):
            raise ValidationError(self.name, f"must be text (got {type(value).__name__})")
        if self.kind == "choice":
            value = value.strip()
            if value and value not in self.choices and value not in self.aliases:
                hint = self.choice_hint or f"choose one of {', '.join(self.choices)}"
                raise ValidationError(self.name, f"unknown {self.label.en.lower()} {value!r}; {hint}")
            return value
        limit = min(filter(None, (self.max_chars, max_chars, MAX_PROMPT_CHARS)))
        if self.kind == "text" and not value.strip():
            return ""
        return check_prompt(value, self.name, limit)


class Params(Mapping[str, Param]):
    """The parameters of one request type, in the request's field order (the API's order)."""

    def __init__(self, request_type: type, *params: Param) -> None:
        fields = {f.name: f for f in dataclasses.fields(request_type)}
        if [p.name for p in params] != list(fields):
            raise ValueError(f"{request_type.__name__}: params {[p.name for p in params]} != fields {list(fields)}")
        self.request_type = request_type
        self._params = {
            p.name: dataclasses.replace(p, default=None if fields[p.name].default is dataclasses.MISSING else fields[p.name].default)
            for p in params
        }

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def validate(self, request: Request, max_prompt_chars: int | None = None) -> tuple[Request, list[str]]:
        """The request with every value checked and coerced, and a note per value that was
        corrected (e.g. a size snapped to its multiple)."""
        if not isinstance(request, self.request_type):
            raise ValidationError("request", f"expected a {self.request_type.__name__}, got {type(request).__name__}")
        values, notes = {}, []
        for name, param in self._params.items():
            before = getattr(request, name)
            values[name] = after = param.check(before, max_prompt_chars)
            if param.multiple and _number(before) != after:
                notes.append(f"{name} {before} -> {after} (must be a multiple of {param.multiple})")
        return self.request_type(**values), notes

    def request(self, prompt: str, values: Mapping[str, Any]) -> Request:
        """A request from a prompt and any of this type's other values (others are ignored)."""
        return self.request_type(prompt=prompt, **{k: v for k, v in values.items() if k in self._params and k != "prompt"})

    def check_limits(self, where: str, values: Mapping[str, Any]) -> None:
        """Preset defaults and caps must name known parameters with values in range."""
        for name, value in values.items():
            if name not in self._params or name == "prompt":
                raise ValueError(f"{where}: unknown parameter {name!r}; known: {', '.join(list(self._params)[1:])}")
            try:
                self._params[name].check(value)
            except ValidationError as error:
                raise ValueError(f"{where}: {error}") from None


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# ---------------------------------------------------------------- the four request types

_SEED = Param(
    "seed", "int", Bilingual("Seed (-1 = random)", "随机种子（-1 为随机）"),
    Bilingual("Same seed and settings give the same output.", "相同的种子和参数会得到相同的结果。"),
    minimum=-1, maximum=MAX_SEED, step=1,
)
_NEGATIVE = Param(
    "negative_prompt", "text", Bilingual("Negative prompt", "反向提示词"),
    Bilingual("What the picture should not show.", "画面中不希望出现的内容。"),
)
_GUIDANCE_HELP = Bilingual("How strictly to follow the prompt (0-1: off for turbo models).",
                           "遵循提示词的程度（turbo 模型用 0-1，即关闭）。")
_STEPS_HELP = Bilingual("More steps: slower, often finer detail.", "步数越多越慢，细节通常更好。")

TEXT_PARAMS = Params(
    TextRequest,
    Param("prompt", "prompt", Bilingual("Prompt", "提示词")),
    Param("system_prompt", "text", Bilingual("System prompt", "系统提示词"),
          Bilingual("The assistant's role and rules.", "助手的角色与规则。"), max_chars=4000, advanced=True),
    Param("max_new_tokens", "int", Bilingual("Max new tokens", "最大生成词元数"),
          Bilingual("Upper bound on the answer's length.", "回答长度的上限。"), 1, 4096, 1, advanced=True),
    Param("temperature", "float", Bilingual("Temperature (0 = greedy)", "温度（0 为贪心解码）"),
          Bilingual("Higher is more varied; 0 always picks the likeliest word.", "越高越多样；0 总是选最可能的词。"),
          0.0, 2.0, 0.05, advanced=True),
    Param("top_p", "float", Bilingual("Top-p", "Top-p 采样"),
          Bilingual("Sample only from the likeliest words covering this probability.", "只从累计概率达到该值的词中采样。"),
          0.05, 1.0, 0.05, advanced=True),
    _SEED,
    Param("response_schema", "json", Bilingual("Answer format (JSON schema)", "回答格式（JSON Schema）"),
          Bilingual("Optional: llama.cpp models then answer only JSON that follows it.",
                    "可选：llama.cpp 模型将只输出符合该结构的 JSON。"), max_chars=8000, advanced=True),
    Param("repetition_penalty", "float", Bilingual("Repetition penalty", "重复惩罚"),
          Bilingual("Above 1 discourages repeating recent words; 1 turns it off.", "大于 1 时抑制重复最近的词；1 为关闭。"),
          1.0, 2.0, 0.05, advanced=True),
)

IMAGE_PARAMS = Params(
    ImageRequest,
    Param("prompt", "prompt", Bilingual("Prompt", "提示词")),
    _NEGATIVE,
    Param("width", "int", Bilingual("Width", "宽度"), None, 64, 2048, 8, multiple=8, advanced=True),
    Param("height", "int", Bilingual("Height", "高度"), None, 64, 2048, 8, multiple=8, advanced=True),
    Param("num_inference_steps", "int", Bilingual("Inference steps", "推理步数"), _STEPS_HELP, 1, 150, 1, advanced=True),
    Param("guidance_scale", "float", Bilingual("Guidance scale", "引导系数"), _GUIDANCE_HELP, 0.0, 30.0, 0.5, advanced=True),
    _SEED,
    Param("num_images", "int", Bilingual("Number of images", "图像数量"),
          Bilingual("Image i uses seed + i.", "第 i 张图使用种子 + i。"), 1, 4, 1, advanced=True),
)

# The voice presets of suno/bark and suno/bark-small: v2/<lang>_speaker_<0-9>, and the older
# names without "v2/".
VOICE_LANGUAGES = ("en", "zh", "de", "es", "fr", "hi", "it", "ja", "ko", "pl", "pt", "ru", "tr")
VOICE_PRESETS: tuple[str, ...] = tuple(f"v2/{lang}_speaker_{i}" for lang in VOICE_LANGUAGES for i in range(10))

AUDIO_PARAMS = Params(
    AudioRequest,
    Param("prompt", "prompt", Bilingual("Prompt", "提示词"),
          max_chars=2000),
    Param("voice_preset", "choice", Bilingual("Voice preset", "音色预设"),
          Bilingual("Speaker and language; empty for none.", "说话人与语言；留空表示不指定。"),
          choices=VOICE_PRESETS, aliases=tuple(p.removeprefix("v2/") for p in VOICE_PRESETS),
          choice_hint=f"use v2/<lang>_speaker_<0-9> with lang one of {', '.join(VOICE_LANGUAGES)} "
                      "(e.g. v2/en_speaker_6, v2/zh_speaker_0), or leave it empty for no preset"),
    _SEED,
)

VIDEO_PARAMS = Params(
    VideoRequest,
    Param("prompt", "prompt", Bilingual("Prompt", "提示词")),
    _NEGATIVE,
    Param("width", "int", Bilingual("Width", "宽度"), None, 64, 1280, 16, multiple=16, advanced=True),
    Param("height", "int", Bilingual("Height", "高度"), None, 64, 1280, 16, multiple=16, advanced=True),
    Param("num_frames", "int", Bilingual("Frames", "帧数"),
          Bilingual("Snapped to what the model needs (Wan 4k+1, LTX 8k+1).", "会调整为模型需要的帧数（Wan 4k+1，LTX 8k+1）。"),
          1, 161, 1, advanced=True),
    Param("fps", "int", Bilingual("Frames per second", "帧率"), None, 1, 60, 1, advanced=True),
    Param("num_inference_steps", "int", Bilingual("Inference steps", "推理步数"), _STEPS_HELP, 1, 100, 1, advanced=True),
    Param("guidance_scale", "float", Bilingual("Guidance scale", "引导系数"), _GUIDANCE_HELP, 0.0, 20.0, 0.5, advanced=True),
    _SEED,
)

PARAMS: dict[str, Params] = {"text": TEXT_PARAMS, "image": IMAGE_PARAMS, "audio": AUDIO_PARAMS, "video": VIDEO_PARAMS}

# What a request costs: the product of these parameters (audio: the prompt's characters).
COST_UNITS: dict[str, tuple[str, ...]] = {
    "text": ("max_new_tokens",),
    "image": ("width", "height", "num_inference_steps", "num_images"),
    "audio": (),
    "video": ("width", "height", "num_frames", "num_inference_steps"),
}


def request_cost(modality: str, request: Request) -> tuple[int, str]:
    """A checked request's cost (see ``COST_UNITS``) and how it was reckoned."""
    if not COST_UNITS[modality]:
        return len(request.prompt), f"{len(request.prompt)} prompt characters"
    values = [int(getattr(request, name)) for name in COST_UNITS[modality]]
    return math.prod(values), " x ".join(f"{v} {n.replace('num_inference_', '').replace('num_', '')}"
                                         for n, v in zip(COST_UNITS[modality], values))


def check_cost(modality: str, request: Request, ceiling: float | None) -> None:
    """A ValidationError when the request costs more than ``ceiling`` (None: no ceiling)."""
    if ceiling is None:
        return
    cost, how = request_cost(modality, request)
    if cost > ceiling:
        raise ValidationError("request", f"costs {cost:,} ({how}); this preset allows at most {int(ceiling):,} per "
                                         f"{modality} request. Use a smaller size or fewer steps, frames or images.")
