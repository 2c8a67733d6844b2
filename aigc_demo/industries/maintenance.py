"""Maintenance plans: read the task table out of a model's text and schedule it.

- :func:`parse_task_table` finds the prioritised task table (task, priority, due, duration,
  parts, skill) in whatever a small model wrote: Markdown tables (with or without outer
  pipes or alignment rows), CSV/TSV lines, or numbered lists with "Priority: High" style
  fields; English or Chinese headers. It returns ``(rows, ok, problem)``.
- :func:`normalise_priority`, :func:`duration_hours` and :func:`due_hours` read the cells.
- :func:`timeline_rows` schedules the tasks from a start time for a timeline chart.

The plugin: parser ``maintenance_table`` and its panels (the task table, a timeline chart and a
parser note). Sensor readings are checked against their limits in :mod:`.sensors`.

Standard library only.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from aigc_demo.core.text import Bilingual, lang
from aigc_demo.scenarios import PanelSpec, Parsed, register_parser

from .panel_values import plot_value, table_value

COLUMNS = ("task", "priority", "due", "duration", "parts", "skill")
HEADERS = {
    "en": ("Task", "Priority", "Due", "Duration", "Parts", "Skill"),
    "zh": ("任务", "优先级", "截止", "时长", "备件", "技能"),
}
PRIORITIES = ("High", "Medium", "Low")
PRIORITY_LABELS = {"High": "高", "Medium": "中", "Low": "低"}
HOURS_PER_DAY = 8.0  # a "1 day" or "1 shift" job is one 8-hour shift of work
DEFAULT_HOURS = 1.0  # a task whose duration cannot be read is drawn as one hour
MAX_ROWS = 40

# Header names per column, compared after lower-casing and removing spaces and punctuation.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "task": ("task", "tasks", "action", "actions", "activity", "maintenancetask", "workitem", "work",
             "description", "job", "step", "measure", "todo", "任务", "维护任务", "工作内容", "任务名称", "作业",
             "项目", "内容", "措施", "检修项目", "维护项目"),
    "priority": ("priority", "prio", "urgency", "importance", "criticality", "优先级", "优先", "紧急程度", "级别",
                 "重要性"),
    "due": ("due", "duedate", "dueby", "deadline", "when", "timing", "timeframe", "schedule", "by", "截止",
            "截止时间", "截止日期", "期限", "完成时间", "完成期限", "时限", "计划时间", "时间"),
    "duration": ("duration", "estimatedduration", "estduration", "esttime", "estimatedtime", "time", "hours",
                 "timerequired", "timeneeded", "requiredtime", "esthours",
                 "effort", "labour", "labor", "manhours", "时长", "工时", "预计时长", "预计工时", "耗时",
                 "所需时间", "用时"),
    "parts": ("parts", "part", "spareparts", "spares", "partsneeded", "materials", "material", "consumables",
              "sparepartsneeded", "备件", "配件", "所需备件", "零件", "材料", "备品备件", "耗材"),
    "skill": ("skill", "skills", "skillrequired", "requiredskill", "technician", "trade", "who", "owner",
              "responsible", "role", "crew", "assignee", "personnel", "staff", "技能", "技能要求", "人员", "负责人",
              "工种", "执行人", "责任人", "所需技能"),
}


@dataclass(frozen=True)
class TaskRow:
    task: str
    priority: str  # "High" / "Medium" / "Low", or the text as written when it cannot be read
    due: str
    duration: str
    parts: str = ""
    skill: str = ""
    hours: float | None = None  # the duration in hours, when readable

    @property
    def rank(self) -> int:
        """0 for High, 1 Medium, 2 Low, 3 unknown (for sorting)."""
        return PRIORITIES.index(self.priority) if self.priority in PRIORITIES else 3

    def cells(self, language: str = "en") -> list[str]:
        priority = PRIORITY_LABELS.get(self.priority, self.priority) if lang(language) == "zh" else self.priority
        return [self.task, priority, self.due, self.duration, self.parts, self.skill]


def _key(text: str) -> str:
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", clean_cell(text))  # "Duration (h)" -> "Duration"
    return re.sub(r"[\s\W_]+", "", text.lower())


def clean_cell(text: str) -> str:
    """A cell without Markdown emphasis, code marks, HTML line breaks or outer spaces."""
    text = re.sub(r"<br\s*/?>", "; ", text, flags=re.IGNORECASE)
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"^\*(.+)\*$", r"\1", text.strip())
    return text.strip().strip("\"'").strip()


def column_of(header: str) -> str | None:
    """The task-table column a header names ("Est. duration" -> "duration"), or None."""
    key = _key(header)
    if not key:
        return None
    for name, synonyms in SYNONYMS.items():
        if key in synonyms:
            return name
    for name, synonyms in SYNONYMS.items():  # "Spare parts needed", "Required skill level"
        for synonym in sorted(synonyms, key=len, reverse=True):
            long_enough = len(synonym) >= 5 or (len(synonym) >= 2 and not synonym.isascii())
            if long_enough and synonym in key:
                return name
    return None


# ---------------------------------------------------------------- cell values

_CN_NUM = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9, "十": 10, "半": 0.5}
_NUM = r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十半]+)"


def _number(token: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token)
    if token == "半":
        return 0.5
    if "十" in token:
        tens, _, ones = token.partition("十")
        return float(_CN_NUM.get(tens, 1) * 10 + _CN_NUM.get(ones, 0))
    if token and all(c in _CN_NUM for c in token) and len(token) == 1:
        return float(_CN_NUM[token])
    return None


def normalise_priority(text: str) -> str | None:
    """"High" / "Medium" / "Low" from High/H/Critical/Urgent/P1/1/高/紧急, ..., or None."""
    t = clean_cell(text).lower()
    if not t:
        return None
    if re.search(r"\bp\s*[01]\b|critical|urgent|immediate|\bhigh|\bh\b|^1$|紧急|高|一级|^[a-z ]*top", t):
        return "High"
    if re.search(r"\bp\s*2\b|medium|\bmed\b|moderate|normal|\bm\b|^2$|中|二级|一般", t):
        return "Medium"
    if re.search(r"\bp\s*[3-9]\b|\blow|minor|\bl\b|^[3-5]$|低|三级|次要", t):
        return "Low"
    return None


_UNITS = (
    (r"(?:h|hr|hrs|hour|hours|小时|个小时|钟头|个钟头)", 1.0),
    (r"(?:m|min|mins|minute|minutes|分钟|分)", 1 / 60),
    (r"(?:d|day|days|天|日|个工作日|工作日)", HOURS_PER_DAY),
    (r"(?:shift|shifts|班|个班|班次|个班次)", HOURS_PER_DAY),
    (r"(?:w|wk|week|weeks|周|星期|个星期)", 5 * HOURS_PER_DAY),
)


def duration_hours(text: str) -> float | None:
    """Hours of work from "2 h", "90 min", "1.5 hours", "1 h 30 min", "1:30", "2-3 h" (the
    upper bound), "半小时", "2小时", "1 day"/"1 shift" (= 8 h); a bare number is hours."""
    t = clean_cell(text).lower().replace("–", "-").replace("—", "-").replace("～", "~")
    if not t:
        return None
    if m := re.fullmatch(r"(\d{1,2}):(\d{2})(?:\s*h)?", t):
        return int(m[1]) + int(m[2]) / 60
    total, found = 0.0, False
    for unit, factor in _UNITS:
        for m in re.finditer(rf"{_NUM}(?:\s*(?:-|~|to|至|到)\s*{_NUM})?\s*{unit}(?![a-z])", t):
            low, high = _number(m[1]), _number(m[2]) if m[2] else None
            value = high if high is not None else low
            if value is not None:
                total += value * factor
                found = True
        t = re.sub(rf"{_NUM}(?:\s*(?:-|~|to|至|到)\s*{_NUM})?\s*{unit}(?![a-z])", " ", t)
    if found:
        return round(total, 4)
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)(?:\s*(?:-|~)\s*(\d+(?:\.\d+)?))?", t.strip()):
        return float(m[2] or m[1])
    return None


_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s*(\d{1,2}):(\d{2}))?")


def due_hours(text: str, start: datetime) -> float | None:
    """Hours from ``start`` until a due time: "immediately" (0), "within 24 h", "2 days",
    "end of shift", "next shift", "today", "tomorrow", "this week", "Day 2", a date
    (end of that day) or date and time; Chinese too (立即, 24小时内, 本班, 下一班, 明天, 本周).
    None when unreadable (e.g. "next planned stop")."""
    t = clean_cell(text).lower()
    if not t:
        return None
    if m := _DATE.search(t):
        day = datetime(int(m[1]), int(m[2]), int(m[3]))
        due = day.replace(hour=int(m[4]), minute=int(m[5])) if m[4] else day + timedelta(days=1)
        return round((due - start).total_seconds() / 3600, 4)
    if re.search(r"immediate|asap|\bnow\b|at once|right away|before restart|立即|立刻|马上|即刻|尽快|停机前|开机前", t):
        return 0.0
    if re.search(r"end of (this |the )?shift|this shift|current shift|本班|当班|本班次", t):
        return 8.0
    if re.search(r"next shift|下一?个?班", t):
        return 16.0
    if m := re.search(rf"(?:day|第)\s*{_NUM}\s*天?", t):
        n = _number(m[1])
        if n is not None:
            return n * 24
    for unit, hours in ((r"(?:h|hr|hrs|hour|hours|小时|个小时)", 1), (r"(?:d|day|days|天|日)", 24),
                        (r"(?:w|wk|week|weeks|周|个星期|星期)", 168), (r"(?:shift|shifts|班|个班次|班次)", 8)):
        if m := re.search(rf"{_NUM}\s*{unit}(?![a-z])", t):
            n = _number(m[1])
            if n is not None:
                return n * hours
    end_of_day = (start.replace(hour=0, minute=0) + timedelta(days=1) - start).total_seconds() / 3600
    if re.search(r"today|end of day|今天|今日|当天", t):
        return round(end_of_day, 4)
    if re.search(r"tomorrow|明天|明日", t):
        return round(end_of_day + 24, 4)
    if re.search(r"this week|end of week|within a week|本周|这周|一周内", t):
        return round(end_of_day + 24 * (6 - start.weekday()), 4)
    if re.search(r"next week|下周", t):
        return round(end_of_day + 24 * (13 - start.weekday()), 4)
    return None


# ---------------------------------------------------------------- finding the table


def _split_pipes(line: str) -> list[str]:
    line = line.strip().replace("\\|", "\0")
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [cell.replace("\0", "|").strip() for cell in line.split("|")]


def _is_rule(cells: list[str]) -> bool:
    return bool(cells) and all(re.fullmatch(r":?-{2,}:?|:?—+:?|", c.strip()) for c in cells) and any(cells)


def _header_map(cells: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = column_of(cell)
        if name and name not in mapping:
            mapping[name] = i
    return mapping


@dataclass
class _Candidate:
    mapping: dict[str, int]
    rows: list[list[str]]
    notes: list[str]
    kind: str
    header: tuple[str, ...] = ()

    @property
    def quality(self) -> tuple[int, int]:
        return (len(self.mapping), len(self.rows))


def _table_blocks(lines: list[str], splitter, min_cells: int = 2) -> list[list[list[str]]]:
    """Runs of consecutive lines that split into ``min_cells`` or more cells."""
    blocks, current = [], []
    for line in lines + [""]:
        cells = splitter(line) if line.strip() else []
        if len(cells) >= min_cells:
            current.append(cells)
        else:
            if current:
                blocks.append(current)
            current = []
    return blocks


def _from_blocks(blocks: list[list[list[str]]], kind: str) -> list[_Candidate]:
    found = []
    for block in blocks:
        rows = [cells for cells in block if not _is_rule(cells)]
        for h, header in enumerate(rows[:3]):  # the header may follow a title row
            mapping = _header_map(header)
            if "task" in mapping and len(mapping) >= 2:
                found.append(_Candidate(mapping, rows[h + 1 :], [], kind, tuple(header)))
                break
        else:
            if rows:
                found.append(_Candidate(_header_map(rows[0]), rows[1:], [], kind, tuple(rows[0])))
    return found


def _csv_split(delimiter: str):
    def split(line: str) -> list[str]:
        if delimiter not in line:
            return []
        try:
            return [c.strip() for c in next(csv.reader([line.strip()], delimiter=delimiter, skipinitialspace=True))]
        except (csv.Error, StopIteration):
            return []

    return split


# A list item's start: "1.", "2)", "- ", "• ", "任务1：", "Task 1:" (after "###" or "**").
_LIST_ITEM = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*)?\s*(?:\d{1,2}\s*[.)、:：]|[-*•·]\s|任务\s*\d+\s*[:：]|task\s*\d+\s*[:：.])",
    re.IGNORECASE,
)


def _key_pattern() -> re.Pattern[str]:
    words = sorted({w for name in COLUMNS for w in SYNONYMS[name] if len(w) >= 3 or not w.isascii()},
                   key=len, reverse=True)
    extra = ["estimated duration", "est. duration", "est. time", "spare parts", "due date", "due by",
             "skill required", "required skill", "parts needed", "parts required", "skills required"]
    alternatives = "|".join(re.escape(w) for w in extra + words)
    emphasis, unit = r"(?:\*\*|__)?", r"(?:\([^)]*\)|（[^）]*）)?"  # "**Duration (h):**"
    return re.compile(rf"{emphasis}(?<![A-Za-z])({alternatives}){emphasis}\s*{unit}\s*[:：]\s*{emphasis}", re.IGNORECASE)


_KEY = _key_pattern()


def _fields_of(text: str) -> tuple[str, dict[str, str]]:
    """Split "Replace bearing - Priority: High; Due: 24 h" into the title and the fields."""
    matches = [m for m in _KEY.finditer(text) if column_of(m[1])]
    title = text[: matches[0].start()] if matches else text
    fields: dict[str, str] = {}
    for m, nxt in zip(matches, matches[1:] + [None]):
        value = text[m.end() : nxt.start() if nxt else len(text)]
        name = column_of(m[1])
        if name and name not in fields:
            fields[name] = value.strip().strip("-–—,;，；|()（）*").strip()
    title = re.sub(r"[\s\-–—:：,;，；(（|*]+$", "", title.strip())
    return title, fields


def _from_list(lines: list[str]) -> list[_Candidate]:
    items: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        if _LIST_ITEM.match(line) and not (items and line.startswith((" ", "\t")) and _KEY.search(line)):
            items.append([line])
        elif items:
            items[-1].append(line)
    rows, keys_seen = [], set()
    for item in items:
        head = _LIST_ITEM.sub("", item[0], count=1)
        body = " ; ".join([head] + [re.sub(r"^\s*[-*•·]\s*", "", l) for l in item[1:]])
        title, fields = _fields_of(body)
        if not ({"priority", "due", "duration", "parts", "skill"} & fields.keys()):
            continue  # a plain numbered instruction, not a task with fields
        fields.setdefault("task", clean_cell(title))
        keys_seen |= fields.keys()
        rows.append([fields.get(c, "") for c in COLUMNS])
    if not rows:
        return []
    mapping = {c: i for i, c in enumerate(COLUMNS) if c in keys_seen}
    return [_Candidate(mapping, rows, [], "list")]


def _candidates(text: str) -> list[_Candidate]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [re.sub(r"^\s*```\w*\s*$", "", line) for line in lines]  # code fences
    found = _from_blocks(_table_blocks(lines, lambda l: _split_pipes(l) if "|" in l else []), "markdown")
    for delimiter in ("\t", ",", ";", "，"):
        found += _from_blocks(_table_blocks(lines, _csv_split(delimiter), 3), "csv")
    found += _from_list(lines)
    return found


def parse_task_table(text: str) -> tuple[list[TaskRow], bool, str]:
    """Find the task table in a model's output: ``(rows, ok, problem)``.

    ``ok`` is False (with the reason in ``problem``) when no table with a task column and at
    least one task can be read; when ok, ``problem`` lists minor issues (missing columns,
    skipped rows, unreadable priorities) or is empty."""
    if not text or not text.strip():
        return [], False, "the output is empty"
    candidates = [c for c in _candidates(text) if "task" in c.mapping]
    if not candidates:
        tables = [c for c in _candidates(text) if c.kind == "markdown"]
        if tables:
            headers = ", ".join(clean_cell(c) for c in tables[0].header)
            return [], False, f"found a table but no 'task' column in it (columns: {headers})"
        expected = " | ".join(HEADERS["en"])
        return [], False, f"no task table found (expected a Markdown table with {expected})"
    best = max(candidates, key=lambda c: (c.quality, c.kind == "markdown"))
    notes: list[str] = []
    rows: list[TaskRow] = []
    width = max(best.mapping.values()) + 1
    for n, cells in enumerate(best.rows, start=1):
        if best.kind != "list" and len(cells) < width:
            notes.append(f"row {n} has {len(cells)} of {width} cells")

        def get(name: str) -> str:
            i = best.mapping.get(name)
            return clean_cell(cells[i]) if i is not None and i < len(cells) else ""

        task = get("task")
        if not task or _is_rule([task]) or re.fullmatch(r"[.…]+", task):
            if any(clean_cell(c) for c in cells):
                notes.append(f"row {n} has no task; skipped")
            continue
        raw_priority = get("priority")
        priority = normalise_priority(raw_priority)
        if priority is None and raw_priority:
            notes.append(f"row {n}: priority {raw_priority!r} not understood")
        duration = get("duration")
        rows.append(TaskRow(task, priority or raw_priority, get("due"), duration, get("parts"), get("skill"),
                            duration_hours(duration)))
        if len(rows) >= MAX_ROWS:
            notes.append(f"only the first {MAX_ROWS} rows are kept")
            break
    if not rows:
        return [], False, "the task table has a header but no task rows"
    missing = [c for c in COLUMNS if c not in best.mapping]
    if missing:
        notes.insert(0, f"missing column(s): {', '.join(missing)}")
    return rows, True, "; ".join(notes)


def task_table(rows: Iterable[TaskRow], language: str = "en") -> tuple[list[str], list[list[str]]]:
    """Headers and cells for a table component, in ``language``."""
    language = lang(language)
    return list(HEADERS[language]), [row.cells(language) for row in rows]


# ---------------------------------------------------------------- timeline


def _start(start: datetime | str | None) -> datetime:
    if start is None:
        now = datetime.now()
        return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if isinstance(start, datetime):
        return start
    text = str(start).strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"start {start!r} is not a date like 2025-06-02 06:00")


def timeline_rows(rows: Iterable[TaskRow], start: datetime | str | None = None) -> list[dict[str, Any]]:
    """Schedule the tasks for a timeline (Gantt) chart.

    Tasks are taken in priority order (then by due time, then as listed). Each skill (trade)
    is one lane: its tasks run one after another, different skills run in parallel. A task
    lasts its duration (one hour when unreadable). Each row: task, priority, skill, start,
    end ("YYYY-MM-DD HH:MM"), start_h, end_h, hours, due_h (None if unreadable) and late
    (ends after its due time)."""
    t0 = _start(start)
    rows = list(rows)
    order = sorted(
        range(len(rows)),
        key=lambda i: (rows[i].rank, due if (due := due_hours(rows[i].due, t0)) is not None else float("inf"), i),
    )
    lanes: dict[str, float] = {}
    out = []
    for i in order:
        row = rows[i]
        lane = " ".join(row.skill.lower().split()) or "-"
        hours = row.hours if row.hours else DEFAULT_HOURS
        begin = lanes.get(lane, 0.0)
        end = begin + hours
        lanes[lane] = end
        due = due_hours(row.due, t0)
        out.append({
            "task": row.task,
            "priority": row.priority,
            "skill": row.skill or "-",
            "start": (t0 + timedelta(hours=begin)).strftime("%Y-%m-%d %H:%M"),
            "end": (t0 + timedelta(hours=end)).strftime("%Y-%m-%d %H:%M"),
            "start_h": round(begin, 4),
            "end_h": round(end, 4),
            "hours": round(hours, 4),
            "due_h": due,
            "late": due is not None and end > due + 1e-9,
        })
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    return sorted(out, key=lambda r: (r["start_h"], rank.get(r["priority"], 3)))


# ---------------------------------------------------------------- the plugin


def plan_panels(parsed: Parsed, language: str) -> list[Any]:
    """The task table, the timeline chart and a note (why no table could be read, or minor issues)."""
    if not parsed.ok:
        note = (f"⚠️ 无法从计划中读出任务表：{parsed.problem}。计划以文本显示。" if language == "zh"
                else f"⚠️ Could not read a task table from the plan: {parsed.problem}. The plan is shown as text.")
        return [None, None, note]
    headers, cells = task_table(parsed.value, language)
    timeline = [{"task": r["task"], "end_h": r["end_h"], "skill": r["skill"] or "-"} for r in timeline_rows(parsed.value)]
    note = f"ℹ️ {parsed.problem}" if parsed.problem else ""
    return [table_value(headers, cells), plot_value(timeline, mark="bar", temporal=()), note]


@register_parser(
    "maintenance_table",
    panels=(PanelSpec("table", Bilingual(en="Task table", zh="任务表")),
            PanelSpec("bar", Bilingual(en="Timeline: hours until each task is done", zh="时间线：完成各任务所需小时"),
                      x="task", y="end_h", color="skill"),
            PanelSpec("markdown", Bilingual(en="Parser note", zh="解析说明"))),
    view=plan_panels,
)
def maintenance_table(text: str) -> Parsed:
    rows, ok, problem = parse_task_table(text)
    return Parsed(ok, rows, problem)
