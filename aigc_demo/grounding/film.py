"""Screenplay: every speaker must be in the character list, and the number of scenes must
be the number the form asked for."""

from __future__ import annotations

import re

from .base import Flag, RunInputs, flag, register

INDUSTRY = "film"
HEADING = re.compile(r"(?m)^[ \t>#*]*(?:scene\s*\d+|场景\s*\d+|第\s*[\d一二三四五六七八九十]+\s*场)", re.IGNORECASE)
SPEAKER = re.compile(
    r"(?m)^[ \t>*]*(?P<name>[A-Z][A-Z0-9 .'\-]{0,30}?|[\u4e00-\u9fff·]{1,8})\s*(?:[(（][^)）\n]{0,30}[)）])?\s*\**\s*[:：]")
NOT_SPEAKERS = re.compile(r"^(?:scene|int|ext|action|cut to|fade in|fade out|title|super|transition|场景|内景|外景|第.+场|"
                          r"动作|画面|镜头|时间|地点|人物|场景设定|转场)", re.IGNORECASE)
ALWAYS_ALLOWED = {"NARRATOR", "VOICE", "V.O", "旁白", "画外音"}
_NAME_END = re.compile(r"[(（,，、:：;；]")
TITLES = {"DR.", "DR", "MR.", "MR", "MRS.", "MRS", "MS.", "MS"}


def character_names(characters: str) -> set[str]:
    """The name at the start of each line of the character list and each of its words, upper
    case ("DR. ADA OKAFOR (39), ..." -> DR. ADA OKAFOR, ADA, OKAFOR)."""
    names: set[str] = set()
    for line in characters.splitlines():
        name = _NAME_END.split(line.strip(" -*\t"), maxsplit=1)[0].strip().upper()
        if name:
            names |= {name, *(w for w in name.split() if w not in TITLES)}
    return names


@register(INDUSTRY)
def check_film(inputs: RunInputs, text: str) -> list[Flag]:
    names = character_names(inputs.text("characters"))
    flags = []
    for m in SPEAKER.finditer(text):
        name = m.group("name").strip()
        if NOT_SPEAKERS.match(name) or name.upper() in ALWAYS_ALLOWED:
            continue
        if name.upper() not in names and not any(w in names for w in name.upper().split() if w not in TITLES):
            flags.append(flag("speaker", INDUSTRY, text, m.start("name"), m.end("name")))
    headings = list(HEADING.finditer(text))
    wanted = inputs.values.get("num_scenes")
    if headings and isinstance(wanted, (int, float)) and len(headings) != int(wanted):
        extra = headings[int(wanted)] if len(headings) > wanted else headings[-1]
        flags.append(flag("scene_count", INDUSTRY, text, extra.start(), extra.end(),
                          detail=len(headings), expected=int(wanted)))
    return sorted(flags, key=lambda f: f.start)
