"""Structured answers (JSON schema from the parts, Markdown while streaming) and the plain
quality checks (prompt echo, loops) that flag what small models do wrong."""

from __future__ import annotations

import json

import pytest

from aigc_demo.core.quality import FLAG, echoed_span, quality_flags, repeated_run
from aigc_demo.core.text import Bilingual
from aigc_demo.scenarios.structure import Column, Part, complete_json, render, schema

PARTS = (
    Part("title", "line", Bilingual("Title", "标题"), max_chars=80),
    Part("points", "list", Bilingual("Points", "要点"), min_items=2, max_items=3),
    Part("rows", "table", Bilingual("Tasks", "任务"),
         columns=(Column("task", Bilingual("Task", "任务")),
                  Column("priority", Bilingual("Priority", "优先级"), choices={"en": ("High", "Low"), "zh": ("高", "低")}))),
    Part("exam", "line", Bilingual("Exam", "检查"), value=Bilingual("$x", "$x")),
)


def test_the_schema_bounds_every_string_and_list_and_leaves_code_filled_parts_out():
    data = json.loads(schema(PARTS, "zh"))
    assert data["required"] == ["title", "points", "rows"] and "exam" not in data["properties"]
    assert data["properties"]["title"]["maxLength"] == 80
    assert (data["properties"]["points"]["minItems"], data["properties"]["points"]["maxItems"]) == (2, 3)
    assert data["properties"]["rows"]["items"]["properties"]["priority"] == {"enum": ["高", "低"]}


@pytest.mark.parametrize(("prefix", "expected"), [
    ('{"title": "Bamboo bot', {"title": "Bamboo bot"}),
    ('{"title": "A", "points": ["one", "tw', {"title": "A", "points": ["one", "tw"]}),
    ('{"title": "A", "poi', {"title": "A"}),
    ('{"title": "A", "points": [', {"title": "A", "points": []}),
    ('{"title": "say \\"hi\\', {"title": 'say "hi'}),
    ('no json yet', None),
])
def test_json_cut_off_anywhere_still_reads(prefix, expected):
    assert complete_json(prefix) == expected


def test_render_shows_headings_lists_tables_and_fixed_parts_in_the_language():
    answer = json.dumps({"title": "Lamp", "points": ["Bright", "Light"], "rows": [{"task": "Fix | it", "priority": "高"}]})
    text = render(PARTS, answer, "zh", {"exam": "CT"})
    assert text.splitlines()[0] == "**标题**" and "- Bright" in text
    assert "| 任务 | 优先级 |" in text and "| Fix / it | 高 |" in text and text.endswith("**检查**\n\nCT")
    assert render(PARTS, "plain words, no JSON", "en") is None  # shown as it is then


def test_echo_and_loops_are_caught_and_good_text_is_not():
    prompt = "Draft a structured radiology report from the information below. Examination: CT, chest."
    assert echoed_span(prompt, "Sure. Draft a structured radiology report from the information below. Done")
    assert echoed_span(prompt, "The chest CT shows a small nodule in the right upper lobe.") is None
    assert repeated_run("it is good and it is cheap and green. " * 3)
    assert repeated_run("竹制水杯环保耐用。" * 4)
    assert repeated_run("A bamboo bottle that keeps drinks cold for a day and warm for twelve hours.") is None
    flags = quality_flags(prompt, prompt + " " + "again and again and again " * 4)
    assert len(flags) == 2 and all(flag.startswith(FLAG) for flag in flags)
    assert "another seed" in flags[0] and "repeats itself" in flags[1]
