"""Maintenance plan: the task-table parser on well-formed and malformed model output, cell
normalisation, the timeline, sensor checks, and the scenario's `table` field and `parse:`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from aigc_demo.core.types import ValidationError
from aigc_demo.industries import load_scenario, load_scenarios
from aigc_demo.industries.maintenance import (
    TaskRow,
    column_of,
    due_hours,
    duration_hours,
    normalise_priority,
    parse_task_table,
    task_table,
    timeline_rows,
)
from aigc_demo.industries.sensors import assess_readings, parse_limit, readings_flags
from aigc_demo.scenarios import ScenarioError

START = datetime(2025, 6, 2, 6, 0)  # a Monday, 06:00


@pytest.fixture(scope="module")
def scenario():
    return {s.id: s for s in load_scenarios()}["maintenance"]


# ---------------------------------------------------------------- the parser

WELL_FORMED = {
    "markdown table with notes": ("""## Task table
| Task | Priority | Due | Duration | Parts | Skill |
|------|:--------:|-----|----------|-------|-------|
| Inspect spindle bearings | **High** | within 8 h | 2 h | bearing set 7014 | Mechanical technician |
| Top up way lube | Medium | end of shift | 30 min | way oil ISO VG 68 | Operator |
| Check coolant concentration | Low | within 7 days | 0.5 h | coolant concentrate | Operator |

## Notes
- Lock out and tag out the machine before opening the spindle housing.
- Re-check vibration after the repair.""", 3),
    "no outer pipes, P-levels": ("""Task | Priority | Due | Duration | Parts | Skill
--- | --- | --- | --- | --- | ---
Replace hydraulic filter | P1 | 24h | 1.5 hours | filter HF-35 | Hydraulics fitter
Calibrate Y axis | P3 | next week | 3 h | none | CNC technician""", 2),
    "chinese headers": ("""## 任务表
| 任务 | 优先级 | 截止 | 时长 | 备件 | 技能 |
| :--- | :---: | --- | --- | --- | --- |
| 检查主轴轴承 | 高 | 8小时内 | 2小时 | 轴承 7014 | 机械维修工 |
| 补充导轨润滑油 | 中 | 本班 | 30分钟 | 导轨油 | 操作工 |
| 清理排屑器 | 低 | 本周 | 1小时 | 无 | 操作工 |""", 3),
    "synonym headers, extra number column": ("""| # | Action | Urgency | Deadline | Est. duration (h) | Spare parts needed | Technician |
|---|---|---|---|---|---|---|
| 1 | Replace V-belt | critical | immediately | 1.5 | belt SPA-1250 | Mechanic |
| 2 | Grease bearings | normal | tomorrow | 45 min | grease | Operator |""", 2),
    "csv lines with quoted commas": ("""Task, Priority, Due, Duration, Parts, Skill
Inspect spindle, High, immediately, 2 h, "bearing, seals", Mechanic
Clean chip conveyor, Low, this week, 1 h, none, Operator""", 2),
    "tab separated": ("Task\tPriority\tDue\tDuration\tParts\tSkill\nFlush coolant tank\tMedium\tnext shift\t3 h\tcoolant\tOperator", 1),
    "numbered list with sub-bullets": ("""Here is the plan:
1. **Inspect spindle bearings**
   - Priority: High
   - Due: within 8 hours
   - Duration: 2 h
   - Parts: bearing set
   - Skill: mechanical technician
2. Top up way lube - Priority: Medium; Due: end of shift; Duration: 30 min; Parts: way oil; Skill: operator
""", 2),
    "chinese numbered list": ("""1. 更换液压滤芯（优先级：高；截止：立即；时长：1小时；备件：滤芯 HF-35；技能：液压钳工）
2. 校准 Y 轴（优先级：低；截止：下周；时长：3小时；备件：无；技能：数控技师）""", 2),
    "fenced code block and br": ("""```markdown
| Task | Priority | Due | Duration | Parts | Skill |
|---|---|---|---|---|---|
| Replace filter<br>and bleed air | High | 4 h | 1 h | filter | Fitter |
```""", 1),
}


@pytest.mark.parametrize("name", sorted(WELL_FORMED))
def test_parser_reads_well_formed_tables(name):
    text, expected = WELL_FORMED[name]
    rows, ok, problem = parse_task_table(text)
    assert ok, problem
    assert len(rows) == expected, rows
    assert all(r.task and r.priority in ("High", "Medium", "Low") for r in rows), rows
    assert all(r.hours is not None and r.hours > 0 for r in rows), rows
    assert not any("**" in r.task or "|" in r.task for r in rows)


def test_parser_cell_values():
    rows, ok, problem = parse_task_table(WELL_FORMED["markdown table with notes"][0])
    assert ok and problem == ""
    assert rows[0] == TaskRow("Inspect spindle bearings", "High", "within 8 h", "2 h", "bearing set 7014",
                              "Mechanical technician", 2.0)
    assert rows[1].hours == 0.5 and rows[2].priority == "Low"
    rows, _, _ = parse_task_table(WELL_FORMED["csv lines with quoted commas"][0])
    assert rows[0].parts == "bearing, seals"
    rows, _, problem = parse_task_table(WELL_FORMED["synonym headers, extra number column"][0])
    assert rows[0].task == "Replace V-belt" and rows[0].skill == "Mechanic" and rows[1].hours == 0.75 and not problem
    rows, _, _ = parse_task_table(WELL_FORMED["chinese numbered list"][0])
    assert rows[0] == TaskRow("更换液压滤芯", "High", "立即", "1小时", "滤芯 HF-35", "液压钳工", 1.0)
    rows, _, _ = parse_task_table(WELL_FORMED["fenced code block and br"][0])
    assert rows[0].task == "Replace filter; and bleed air"
    headers, cells = task_table(rows, "zh")
    assert headers == ["任务", "优先级", "截止", "时长", "备件", "技能"] and cells[0][1] == "高"


MALFORMED = {
    "empty": ("", False, "empty"),
    "prose only": ("The machine should be checked soon. Replace the bearing and clean the filter.", False,
                   "no task table found"),
    "numbered steps without fields": ("1. Stop the machine.\n2. Replace the bearing.\n3. Restart.", False,
                                      "no task table found"),
    "header without rows": ("| Task | Priority | Due |\n|---|---|---|\n", False, "header but no task rows"),
    "table without a task column": ("| Item no | Cost |\n|---|---|\n| 1 | 20 |", False, "no 'task' column"),
    "truncated last row": ("| Task | Priority | Due | Duration | Parts | Skill |\n|---|---|---|---|---|---|\n"
                           "| Inspect spindle | High | 8 h | 2 h | bearings | Mechanic |\n| Top up lube | Med", True,
                           "row 2 has 2 of 6 cells"),
    "missing columns": ("| Task | Priority |\n|---|---|\n| Replace belt | High |", True,
                        "missing column(s): due, duration, parts, skill"),
    "unknown priority": ("| Task | Priority | Due | Duration | Parts | Skill |\n|---|---|---|---|---|---|\n"
                         "| Replace belt | soonish | 8 h | 1 h | belt | Mechanic |", True,
                         "priority 'soonish' not understood"),
    "row without task": ("| Task | Priority | Due | Duration | Parts | Skill |\n|---|---|---|---|---|---|\n"
                         "| | High | 8 h | 1 h | belt | Mechanic |\n| Grease | Low | 1 week | 1 h | grease | Operator |",
                         True, "row 1 has no task; skipped"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_parser_handles_malformed_output(name):
    text, ok_expected, message = MALFORMED[name]
    rows, ok, problem = parse_task_table(text)
    assert ok is ok_expected and message in problem, (ok, problem)
    assert bool(rows) is ok


def test_best_table_wins_over_a_readings_table():
    text = """Readings:
| Signal | Reading |
|---|---|
| Vibration | 4.8 mm/s |

| Task | Priority | Due | Duration | Parts | Skill |
|---|---|---|---|---|---|
| Replace bearing | High | 8 h | 3 h | bearing | Mechanic |"""
    rows, ok, _ = parse_task_table(text)
    assert ok and [r.task for r in rows] == ["Replace bearing"]


# ---------------------------------------------------------------- cells


@pytest.mark.parametrize(("text", "expected"), [
    ("High", "High"), ("**HIGH**", "High"), ("H", "High"), ("P1", "High"), ("p0", "High"), ("Critical", "High"),
    ("Urgent", "High"), ("1", "High"), ("高", "High"), ("紧急", "High"), ("🔴 High", "High"),
    ("Medium", "Medium"), ("med", "Medium"), ("P2", "Medium"), ("Normal", "Medium"), ("中", "Medium"),
    ("Low", "Low"), ("P3", "Low"), ("minor", "Low"), ("低", "Low"), ("", None), ("soonish", None),
])
def test_normalise_priority(text, expected):
    assert normalise_priority(text) == expected


@pytest.mark.parametrize(("text", "hours"), [
    ("2 h", 2), ("2h", 2), ("1.5 hours", 1.5), ("90 min", 1.5), ("1 h 30 min", 1.5), ("1:30", 1.5),
    ("2-3 h", 3), ("4–6小时", 6), ("半小时", 0.5), ("2小时", 2), ("两小时", 2), ("45分钟", 0.75), ("1 day", 8),
    ("1 shift", 8), ("3", 3), ("n/a", None), ("", None),
])
def test_duration_hours(text, hours):
    assert duration_hours(text) == (pytest.approx(hours) if hours is not None else None)


@pytest.mark.parametrize(("text", "hours"), [
    ("immediately", 0), ("ASAP", 0), ("立即", 0), ("within 24 h", 24), ("24小时内", 24), ("within 8 hours", 8),
    ("2 days", 48), ("3天内", 72), ("end of shift", 8), ("本班", 8), ("next shift", 16), ("下一班", 16),
    ("today", 18), ("tomorrow", 42), ("明天", 42), ("this week", 162), ("本周", 162), ("Day 2", 48),
    ("2025-06-03", 42), ("2025-06-02 14:00", 8), ("next planned stop", None),
])
def test_due_hours(text, hours):
    assert due_hours(text, START) == (pytest.approx(hours) if hours is not None else None)


def test_column_names():
    assert column_of("Est. duration (h)") == "duration" and column_of("所需备件") == "parts"
    assert column_of("Required skill") == "skill" and column_of("截止时间") == "due"
    assert column_of("Item no") is None and column_of("#") is None


# ---------------------------------------------------------------- timeline


def test_timeline_schedules_by_priority_in_skill_lanes():
    rows, ok, _ = parse_task_table("""| Task | Priority | Due | Duration | Parts | Skill |
|---|---|---|---|---|---|
| Clean conveyor | Low | this week | 1 h | none | Operator |
| Replace bearing | High | within 4 h | 3 h | bearing | Mechanic |
| Top up lube | Medium | end of shift | 30 min | oil | Operator |
| Align belt | Medium | ??? | | belt | Mechanic |""")
    assert ok
    timeline = timeline_rows(rows, "2025-06-02 06:00")
    by_task = {r["task"]: r for r in timeline}
    assert [r["task"] for r in timeline][:2] == ["Replace bearing", "Top up lube"]
    assert by_task["Replace bearing"]["start"] == "2025-06-02 06:00" and by_task["Replace bearing"]["end"] == "2025-06-02 09:00"
    assert by_task["Top up lube"]["start_h"] == 0 and by_task["Clean conveyor"]["start_h"] == 0.5  # same lane
    assert by_task["Align belt"]["start_h"] == 3 and by_task["Align belt"]["hours"] == 1  # unreadable: 1 h
    assert by_task["Replace bearing"]["late"] is False and by_task["Align belt"]["due_h"] is None
    late = timeline_rows([TaskRow("Overhaul", "High", "within 2 h", "4 h", hours=4.0)], START)
    assert late[0]["late"] is True and late[0]["due_h"] == 2
    assert timeline_rows([], START) == []


# ---------------------------------------------------------------- sensors


def test_limits_and_readings():
    assert parse_limit("< 2.8 mm/s").high == 2.8 and parse_limit("6-8 %").low == 6
    assert parse_limit("min 65").low == 65 and parse_limit("上限 60").high == 60 and parse_limit("60 以下").high == 60
    assert parse_limit("OK") is None
    readings = [
        {"signal": "Vibration", "value": "4.8 mm/s", "limit": "< 2.8", "note": ""},
        {"signal": "Pressure", "value": "58 bar", "limit": "65-70", "note": ""},
        {"signal": "Temperature", "value": "55 °C", "limit": "< 60", "note": ""},
        {"signal": "Following error", "value": "0.004 mm", "limit": "< 0.010", "note": ""},
        {"signal": "Lube level", "value": "LOW", "limit": "", "note": "alarm 1010 twice"},
        {"signal": "Door switch", "value": "closed", "limit": "", "note": ""},
    ]
    status = [(a.status, round(a.deviation, 2) if a.deviation else None) for a in assess_readings(readings)]
    assert status == [("above", 0.71), ("below", 0.11), ("ok", None), ("ok", None), ("alarm", None), ("unknown", None)]
    flags = readings_flags(assess_readings(readings), "en")
    assert "Vibration: 4.8 mm/s, limit < 2.8 → ABOVE the limit by 71%" in flags
    assert "Lube level: LOW → alarm reported" in flags and "Temperature" not in flags
    assert readings_flags([], "zh") == "- 所有读数均在限值内"


# ---------------------------------------------------------------- the scenario


def test_maintenance_scenario_shape(scenario):
    s = scenario
    assert s.api_name == "maintenance_plan"
    assert [(t.name, t.generator) for t in s.tasks] == [("plan", "text"), ("briefing", "text"), ("spoken_briefing", "audio")]
    assert s.task("plan").parse == "maintenance_table" and s.task("briefing").uses == ("plan",)
    readings = s.field("readings")
    assert readings.kind == "table" and [c.name for c in readings.columns] == ["time", "signal", "value", "limit", "note"]
    assert readings.headers("zh") == ["时间", "信号 / 报警", "读数", "限值", "备注"]
    assert len(s.defaults()["readings"]) >= 5 and all(len(r) == 5 for r in s.defaults()["readings"])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_plan_prompt_has_the_readings_and_its_answer_renders_to_the_parsed_table(scenario, language):
    import json

    from aigc_demo.scenarios import structure

    prompt = scenario.render("plan", {"language": language})
    assert "$" not in prompt
    readings_header = "| When | Signal / alarm |" if language == "en" else "| 时间 | 信号 / 报警 |"
    assert readings_header in prompt and "| today 02:14 | Spindle vibration (RMS) | 4.8 mm/s | < 2.8 |" in prompt
    assert ("ABOVE the limit by 71%" if language == "en" else "超出上限 71%") in prompt
    plan = next(t for t in scenario.tasks if t.name == "plan")
    priorities = ["High", "Medium", "Low"] if language == "en" else ["高", "中", "低"]
    schema = json.loads(structure.schema(plan.structure, language))  # what llama.cpp may write
    assert schema["properties"]["tasks"]["items"]["properties"]["priority"]["enum"] == priorities
    row = {"task": "Check spindle bearings", "priority": priorities[0], "due": "within 8 h", "duration": "2 h",
           "parts": "none", "skill": "fitter"}
    answer = json.dumps({"tasks": [row, {**row, "priority": priorities[2]}, row], "notes": ["Lock out first."]})
    text = scenario.finish_text(structure.render(plan.structure, answer, language), language)
    header = "| Task | Priority | Due | Duration | Parts | Skill |" if language == "en" else "| 任务 | 优先级 | 截止 | 时长 | 备件 | 技能 |"
    parsed = scenario.parse_output("plan", text)
    assert header in text and parsed.ok and [r.priority for r in parsed.value] == ["High", "Low", "High"]
    briefing = scenario.render("briefing", {"language": language}, {"plan": "| Task |\n|---|\n| x |"})
    assert "| x |" in briefing and "$" not in briefing


def test_parse_output_strips_the_footer(scenario):
    text, expected = WELL_FORMED["chinese headers"]
    parsed = scenario.parse_output("plan", scenario.finish_text(text, "zh"))
    assert parsed.ok and len(parsed.value) == expected and parsed.problem == ""
    assert parsed.value[-1].skill == "操作工"  # the disclaimer footer did not become a row
    failed = scenario.parse_output("plan", scenario.finish_text("Sorry, I cannot help.", "en"))
    assert not failed.ok and "no task table" in failed.problem
    assert scenario.parse_output("briefing", "anything") is None


def test_table_field_accepts_what_the_ui_and_api_send(scenario):
    f = scenario.field("readings")
    rows = [["now", "Vibration", "4.8 mm/s", "< 2.8", ""]]
    assert scenario.validate_values({"readings": rows})["readings"] == rows
    as_dicts = [{"time": "now", "signal": "Vibration", "value": "4.8 mm/s", "limit": "< 2.8"}]
    assert scenario.validate_values({"readings": as_dicts})["readings"] == rows
    by_label = [{"When": "now", "Signal / alarm": "Vibration", "Reading": "4.8 mm/s", "Limit": "< 2.8"}]
    assert scenario.validate_values({"readings": by_label})["readings"] == rows
    payload = {"headers": f.headers("en"), "data": rows + [["", "", "", "", ""]]}  # empty rows dropped
    assert scenario.validate_values({"readings": payload})["readings"] == rows
    pasted = "| When | Signal / alarm | Reading | Limit | Note |\n|---|---|---|---|---|\n| now | Vibration | 4.8 mm/s | < 2.8 | |"
    assert scenario.validate_values({"readings": pasted})["readings"] == rows
    assert scenario.validate_values({"readings": "now, Vibration, 4.8 mm/s, < 2.8"})["readings"] == rows
    assert scenario.validate_values({"readings": str(rows)})["readings"] == rows  # a textbox showing a list
    assert scenario.validate_values({"readings": '[{"signal": "Vibration", "value": "4.8 mm/s", "limit": "< 2.8", '
                                                  '"time": "now"}]'})["readings"] == rows  # JSON from an API client
    numbers = [[1, "Temp", 68.0, None, float("nan")]]
    assert scenario.validate_values({"readings": numbers})["readings"] == [["1", "Temp", "68", "", ""]]
    assert f.row_dicts(rows) == [{"time": "now", "signal": "Vibration", "value": "4.8 mm/s", "limit": "< 2.8", "note": ""}]
    pd = pytest.importorskip("pandas")  # what gr.Dataframe hands a handler by default
    frame = pd.DataFrame(rows, columns=f.headers("en"))
    assert scenario.validate_values({"readings": frame})["readings"] == rows


@pytest.mark.parametrize(("value", "message"), [
    ([], "is empty"),
    ([["", "", "", "", ""]], "is empty"),
    ([["a", "b", "c", "d", "e", "extra"]], "row 1 has 6 cells; the table has 5 columns"),
    ([["x"] * 5] * 51, "has 51 rows; the limit is 50"),
    ([["x" * 201, "", "", "", ""]], "row 1: a cell is 201 characters"),
    ("", "is empty"),
    (42, "must be a table"),
    ([42], "row 1 must be a list of cells"),
])
def test_table_field_rejects_bad_values(scenario, value, message):
    with pytest.raises(ValidationError) as info:
        scenario.validate_values({"readings": value})
    assert info.value.field == "readings" and message in str(info.value)


def test_examples_render_and_parse_in_both_languages(scenario):
    for example in scenario.examples:
        prompt = scenario.render("plan", example)
        assert "$" not in prompt and example["readings"][0][1] in prompt
    assert "排气温度：108 °C，限值 < 100 → 超出上限 8%" in scenario.render("plan", scenario.examples[1])


# ---------------------------------------------------------------- load-time checks of the new keys


def demo(**field_changes) -> dict:
    table = {"name": "readings", "kind": "table", "label": {"en": "Readings", "zh": "读数"},
             "columns": [{"name": "signal", "en": "Signal", "zh": "信号"}, {"name": "value", "en": "Value", "zh": "值"}],
             "default": [["Vibration", "4.8"], {"signal": "Temp", "value": 68}]}
    table.update(field_changes)
    return {
        "id": "demo", "api_name": "demo_plan", "title": {"en": "Demo", "zh": "演示"},
        "description": {"en": "A demo.", "zh": "演示。"},
        "fields": [table, {"name": "language", "kind": "language", "label": {"en": "Language", "zh": "语言"}}],
        "tasks": [{"name": "plan", "generator": "text", "title": {"en": "Plan", "zh": "计划"}, "parse": "maintenance_table",
                   "prompt": {"en": "Readings:\n$readings", "zh": "读数：\n$readings"}}],
    }


def write(folder: Path, data: dict) -> Path:
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_table_field_in_a_new_scenario(tmp_path):
    s = load_scenario(write(tmp_path, demo()))
    assert s.defaults()["readings"] == [["Vibration", "4.8"], ["Temp", "68"]]
    assert s.render("plan", {"language": "zh"}) == "读数：\n| 信号 | 值 |\n| --- | --- |\n| Vibration | 4.8 |\n| Temp | 68 |"
    empty_ok = load_scenario(write(tmp_path, demo(required=False, default=[])))
    assert empty_ok.render("plan", {}) == "Readings:\n(none)"


@pytest.mark.parametrize(("change", "key"), [
    ({"columns": None}, "fields.readings.columns"),
    ({"columns": []}, "fields.readings.columns"),
    ({"columns": [{"name": "a", "en": "A"}]}, "fields.readings.columns[0].zh"),
    ({"columns": [{"name": "a", "en": "A", "zh": "A"}, {"name": "a", "en": "B", "zh": "B"}]}, "fields.readings.columns.a"),
    ({"default": [["a", "b", "c"]]}, "fields.readings.default"),
    ({"default": []}, "fields.readings.default"),
    ({"extensions": ["csv"]}, "fields.readings.extensions"),
])
def test_bad_table_fields_fail_at_load(tmp_path, change, key):
    data = demo(**change)
    if change.get("columns") is None and "columns" in change:
        del data["fields"][0]["columns"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, data))
    assert key in str(info.value), str(info.value)


def test_bad_parse_declarations_fail_at_load(tmp_path):
    data = demo()
    data["tasks"][0]["parse"] = "tea_leaves"
    with pytest.raises(ScenarioError, match=r"tasks.plan.parse.*unknown parser 'tea_leaves'"):
        load_scenario(write(tmp_path, data))
    data = demo()
    data["tasks"].append({"name": "picture", "generator": "image", "title": {"en": "P", "zh": "P"},
                          "prompt": "a machine", "parse": "maintenance_table"})
    with pytest.raises(ScenarioError, match=r"tasks.picture.parse.*only text tasks"):
        load_scenario(write(tmp_path, data))
