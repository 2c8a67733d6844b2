"""Splitters for a task's ``for_each: <splitter>:<task>``: turn an earlier text output into items.

``paragraphs`` splits at blank lines; ``scenes`` finds the scenes of a loosely formatted
screenplay. More can be added with :func:`register_splitter`.
"""

from __future__ import annotations

import re
from typing import Callable

Splitter = Callable[[str, "int | None"], list[str]]
SPLITTERS: dict[str, Splitter] = {}


def register_splitter(name: str) -> Callable[[Splitter], Splitter]:
    """Register ``fn(text, expected=None) -> list[str]`` under ``name`` (for ``for_each``)."""

    def decorate(fn: Splitter) -> Splitter:
        SPLITTERS[name] = fn
        return fn

    return decorate


def split(name: str, text: str, expected: int | None = None) -> list[str]:
    if name not in SPLITTERS:
        raise KeyError(f"unknown splitter '{name}' (known: {', '.join(sorted(SPLITTERS))})")
    return [part for part in SPLITTERS[name](text, expected) if part.strip()]


def _chunks(parts: list[str], count: int) -> list[str]:
    """Group consecutive parts into ``count`` chunks of near-equal size."""
    count = max(1, min(count, len(parts)))
    size, extra = divmod(len(parts), count)
    chunks, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        chunks.append("\n\n".join(parts[start:end]))
        start = end
    return chunks


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


@register_splitter("paragraphs")
def split_paragraphs(text: str, expected: int | None = None) -> list[str]:
    """Blank-line separated paragraphs; grouped into ``expected`` chunks when given."""
    paragraphs = _paragraphs(text)
    if expected and len(paragraphs) > expected:
        return _chunks(paragraphs, expected)
    return paragraphs


_CN_DIGITS = "零〇一二三四五六七八九十百两"
_EN_NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_MARKUP = re.compile(r"\*\*|__|`")
_LEAD = re.compile(r"^[\s#>*_\[【(（\-–—]+")
# Tier 1: an explicit scene marker ("Scene 1", "SCENE TWO:", "Scene:", 场景一, 第1场, 第一幕).
_SCENE_MARKER = re.compile(
    rf"^(?:(?:scene|sc\.)\s*(?:(?P<en>\d+|[ivxlc]+|{_EN_NUMBER_WORDS})\b|(?=[:：.\-–—)\]】]|$))"
    rf"|场景\s*(?:(?P<cn>[\d{_CN_DIGITS}]+)\s*(?=[:：.、\-—\s)\]】内外]|$)|(?=[:：]|$))"
    rf"|第\s*(?P<di>[\d{_CN_DIGITS}]+)\s*[场幕]戏?(?=[:：.、，,\-—\s)\]】内外]|$))",
    re.IGNORECASE,
)
# Tier 2: a numbered heading line ("1.", "2) The Chase", "三、夜").
_NUMBERED = re.compile(rf"^(\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})\s*[.)、:：]\s*(.*)$")
# Tier 3: a screenplay slug line ("INT. OFFICE - DAY", "EXT.", 内景, 外景).
_SLUG = re.compile(
    r"^(?:\d{1,2}[.)]?\s*)?(?:(?:int|ext|i/e)\b\.?|int\./ext\b|内景|外景|内外景|外/内景|内/外景)", re.IGNORECASE
)
_SENTENCE_END = ("。", "！", "？", ".", "!", "?", '"', "”", "…")


def _plain(line: str) -> str:
    return _LEAD.sub("", _MARKUP.sub("", line)).strip()


def _cn_int(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    if token == "十":
        return 10
    if "十" in token:
        tens, _, ones = token.partition("十")
        return digits.get(tens, 1) * 10 + digits.get(ones, 0) if tens or ones else 10
    return digits.get(token) if len(token) == 1 else None


def _marker_number(line: str) -> int | None:
    """The number in a scene marker ("Scene 2", "Scene II", "场景二", "第2场"), if any."""
    match = _SCENE_MARKER.match(line)
    if not match:
        return None
    token = (match.group("en") or match.group("cn") or match.group("di") or "").lower()
    words = _EN_NUMBER_WORDS.split("|")
    if token in words:
        return words.index(token) + 1
    roman = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
    if token in roman:
        return roman[token]
    return _cn_int(token) if token else None


def _numbered_headings(plain: list[str]) -> list[int]:
    """Lines that look like consecutive numbered headings (1., 2., 3. ...)."""
    found, last = [], None
    for i, line in enumerate(plain):
        match = _NUMBERED.match(line)
        if not match:
            continue
        number, rest = _cn_int(match.group(1)), match.group(2).strip()
        looks_like_heading = (
            not rest or _SLUG.match(rest) or (len(rest) <= 60 and not rest.endswith(_SENTENCE_END))
        )
        if number is None or not looks_like_heading:
            continue
        if last is None or number == last + 1:
            found.append(i)
            last = number
    return found


def _is_bare(line: str) -> bool:
    """A heading with nothing after its marker ("Scene 1", "第一场", "1.")."""
    rest = _SCENE_MARKER.sub("", line, count=1)
    rest = re.sub(r"^\d{1,2}\s*[.)、:：]", "", rest)
    return not re.sub(r"[\s:：.、\-–—)\]】]+", "", rest)


@register_splitter("scenes")
def split_scenes(text: str, expected: int | None = None) -> list[str]:
    """Split a screenplay into scenes, tolerating a small model's loose formatting.

    Headings are found in tiers: explicit scene markers (Scene 1, 场景一, 第1场), then
    numbered heading lines (1., 2.), then slug lines (INT./EXT., 内景/外景). The first tier
    with at least two headings wins (else one with a single heading). Without headings
    the paragraphs are grouped into ``expected`` chunks, or the whole text is one scene.
    Markdown bold/heading marks are removed; no scene is ever empty.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    plain = [_plain(line) for line in lines]
    tiers = [
        [i for i, p in enumerate(plain) if _SCENE_MARKER.match(p)],
        _numbered_headings(plain),
        [i for i, p in enumerate(plain) if _SLUG.match(p)],
    ]
    headings = next((t for t in tiers if len(t) >= 2), None) or next((t for t in tiers if t), [])
    cleaned = [re.sub(r"^\s*#+\s*", "", _MARKUP.sub("", line)).rstrip() for line in lines]

    def block(start: int, end: int) -> str:
        return re.sub(r"\n{3,}", "\n\n", "\n".join(cleaned[start:end])).strip()

    if not headings:
        body = block(0, len(lines))
        if not body:
            return []
        paragraphs = _paragraphs(body)
        if expected and expected > 1 and len(paragraphs) > 1:
            return _chunks(paragraphs, expected)
        return [body]

    scenes: list[str] = []
    preamble = block(0, headings[0])
    if headings is tiers[0]:
        first_number = _marker_number(plain[headings[0]])
    elif headings is tiers[1]:
        first_number = _cn_int(_NUMBERED.match(plain[headings[0]]).group(1))
    else:
        first_number = None
    missed_first = first_number is not None and first_number > 1
    # Text before the first heading is usually a title or "Here is your screenplay:";
    # keep it only when it looks like a scene whose heading was forgotten.
    if preamble and (len(preamble) >= 200 or (len(preamble) >= 40 and missed_first)):
        scenes.append(preamble)
    pending = ""  # a bare heading directly followed by another heading joins the next scene
    bounds = headings + [len(lines)]
    for start, end in zip(bounds, bounds[1:]):
        scene = block(start, end)
        body_empty = not block(start + 1, end)
        if body_empty and _is_bare(plain[start]) and end != len(lines):
            pending = f"{pending}\n{scene}".strip()
            continue
        scenes.append(f"{pending}\n{scene}".strip() if pending else scene)
        pending = ""
    if pending:
        scenes.append(pending)
    return [s for s in scenes if s.strip()]
