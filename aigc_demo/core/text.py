"""Bilingual text: the one way the app holds a string in English and Chinese."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

LANGUAGES = ("en", "zh")


def lang(language: str | None) -> str:
    """"zh", "zh-CN", "zh_TW"... -> "zh"; anything else -> "en"."""
    return "zh" if str(language or "").lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Bilingual(Mapping[str, str]):
    """A text in English and Chinese; also a read-only mapping {"en": ..., "zh": ...}."""

    en: str
    zh: str

    def __getitem__(self, language: str) -> str:
        if language == "en":
            return self.en
        if language == "zh":
            return self.zh
        raise KeyError(language)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def __call__(self, language: str | None) -> str:
        """The text in ``language`` ("zh-CN" counts as zh; unknown ones as en)."""
        return self[lang(language)]

    def as_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` without control characters, lone surrogates and other unprintable code points
    (kept: newlines and tabs, unless ``keep_newlines`` is False), stripped."""
    keep = "\n\t" if keep_newlines else ""
    return "".join(ch for ch in text if ch in keep or ch.isprintable()).strip()


# The one "AI-generated" label: in text outputs, file metadata and the UI.
AI_LABEL = Bilingual(
    en="AI-generated content. Review before use.",
    zh="本内容由 AI 生成，请审核后使用。",
)
