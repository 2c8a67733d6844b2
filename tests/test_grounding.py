"""Grounding checks: hand-made good and bad outputs (no model), numbers as written, the flags
stored with the record, exported, and shown next to the review bar."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import pytest

from aigc_demo.record.schema import migrate
from aigc_demo import grounding
from aigc_demo.grounding import terms
from aigc_demo.grounding.evaluate import INDUSTRIES, evaluate, inputs_of, load_cases, results_table
from aigc_demo.grounding.numbers import cn_number, quantities
from aigc_demo.grounding.view import flags_markdown
from aigc_demo.industries import load_scenarios
from aigc_demo.record import OutputRecord, ReviewStore

CASES = load_cases()
README = Path(__file__).resolve().parents[1] / "README.md"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def scenarios():
    return {s.id: s for s in load_scenarios()}


@pytest.fixture(scope="module")
def outcomes(scenarios):
    return [evaluate(case, scenarios) for case in CASES]


# ---------------------------------------------------------------- the hand-made test set


def test_the_test_set_is_large_enough_and_covers_both_languages():
    planted = [c for c in CASES if c["expect"]]
    faithful = [c for c in CASES if not c["expect"]]
    assert len(planted) >= 30 and len(faithful) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)
    for industry in INDUSTRIES:
        for group in (planted, faithful):
            mine = [c for c in group if c["industry"] == industry]
            assert any(CJK.search(c["text"]) for c in mine), f"{industry}: no Chinese case"
            assert any(not CJK.search(c["text"]) for c in mine), f"{industry}: no English case"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_planted_error_is_flagged_and_faithful_outputs_raise_none(case, scenarios):
    outcome = evaluate(case, scenarios)
    assert not outcome.missed, f"not flagged: {outcome.missed}; flags: {outcome.flags}"
    assert not outcome.unexpected, f"flagged without reason: {[(f['kind'], f['span']) for f in outcome.unexpected]}"


def test_every_flag_is_explainable_in_both_languages(outcomes):
    flags = [(o.case["text"], f) for o in outcomes for f in o.flags]
    assert len(flags) >= 40
    for text, flag in flags:
        assert flag["kind"] in terms.data()["reasons"]
        assert text[flag["start"]:flag["end"]].strip() == flag["span"]  # the span is where it says
        assert flag["reason"]["en"] and not CJK.search(flag["reason"]["en"].replace(flag["span"], ""))
        assert CJK.search(flag["reason"]["zh"])


def test_the_readme_shows_the_results_table_of_the_test_set(outcomes):
    table = results_table(outcomes)
    assert table in README.read_text(encoding="utf-8"), f"update the README's grounding table:\n{table}"


def test_an_english_dictation_grounds_a_chinese_report_and_the_other_way_round(scenarios):
    case = {"industry": "medical", "task": "report", "form": "default", "values": {"language": "zh"}}
    inputs = inputs_of(scenarios["medical"], case)
    assert grounding.check(inputs, "右肺上叶实性结节，8 mm。") == []
    [flag] = grounding.check(inputs, "左肺上叶实性结节，8 mm。")
    assert (flag["kind"], flag["span"]) == ("side", "左")


def test_a_failing_check_is_a_flag_not_a_lost_output(scenarios, monkeypatch):
    inputs = inputs_of(scenarios["retail"], {"industry": "retail", "task": "copy", "form": "default"})

    def broken(inputs, text):
        raise RuntimeError("vocabulary missing")

    monkeypatch.setitem(grounding.CHECKS, "retail", broken)
    [flag] = grounding.check(inputs, "Some copy.")
    assert flag["kind"] == "check_error" and "vocabulary missing" in flag["reason"]["en"]
    assert CJK.search(flag["reason"]["zh"])


def test_a_scenario_without_a_check_and_an_empty_text_give_no_flags(scenarios):
    inputs = inputs_of(scenarios["retail"], {"industry": "retail", "task": "copy", "form": "default"})
    assert grounding.check(inputs, "   ") == []
    assert grounding.check(grounding.RunInputs("playground", "text", {}), "42 bar") == []


# ---------------------------------------------------------------- numbers as written


@pytest.mark.parametrize("text, expected", [
    ("18,450 h", [(18450.0, "h")]),
    ("+35.00% and −13.27%", [(35.0, "%"), (-13.27, "%")]),
    ("EUR 9.90 or €9.90", [(9.9, "eur"), (9.9, "€")]),
    ("2-4 working days", [(2.0, "working days"), (4.0, "working days")]),
    ("下跌13.32%，约 9 毫米", [(13.32, "%"), (9.0, "毫米")]),
    ("三个月后，1.8万小时", [(3.0, "个月"), (18000.0, "小时")]),
    ("1. Inspect MA20 and alarm A03 on 2024-01-02 at 14:00", []),
])
def test_numbers_are_read_with_their_units(text, expected):
    assert [(q.value, q.unit) for q in quantities(text)] == expected


def test_chinese_numerals():
    assert [cn_number(t) for t in ("三", "十二", "两百五十", "四十", "x")] == [3, 12, 250, 40, None]


# ---------------------------------------------------------------- stored, exported, shown


def _flags_for(scenarios, case_id: str) -> tuple[dict, list[dict]]:
    case = next(c for c in CASES if c["id"] == case_id)
    return case, grounding.check(inputs_of(scenarios[case["industry"]], case), case["text"])


def test_flags_are_stored_with_the_record_and_exported(tmp_path, scenarios):
    case, flags = _flags_for(scenarios, "service-en-invented-discount")
    assert len(flags) == 2
    with ReviewStore(tmp_path / "data") as store:
        flagged = store.add_record(OutputRecord("text", scenario="service", task="reply", output_text=case["text"],
                                                checks=flags))
        clean = store.add_record(OutputRecord("text", scenario="service", task="reply", output_text="Fine."))
        assert store.get_record(flagged).checks == flags and store.get_record(clean).checks == []
        assert store.list_outputs()[-1]["checks"] == flags
        csv_path, jsonl_path = store.export(tmp_path / "out")
    lines = {item["id"]: item for item in map(json.loads, jsonl_path.read_text(encoding="utf-8").splitlines())}
    assert lines[flagged]["checks"] == flags and lines[clean]["checks"] == []
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert json.loads(rows[flagged]["checks"]) == flags and json.loads(rows[clean]["checks"]) == []


def test_an_older_database_gains_the_checks_column(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "reviews.sqlite3", isolation_level=None)
    migrate(conn, target=4)  # a database as the last release left it
    conn.execute("INSERT INTO records (id, created_at, scenario, modality, output_text) "
                 "VALUES ('old1', '2026-11-30T00:00:00+00:00', 'playground', 'text', 'old')")
    conn.close()
    with ReviewStore(data) as store:
        assert store.migrated_from == 4 and store.get_record("old1").checks == []


def test_a_damaged_checks_cell_is_quarantined_not_fatal(tmp_path):
    data = tmp_path / "data"
    with ReviewStore(data) as store:
        record_id = store.add_record(OutputRecord("text", output_text="x"))
    conn = sqlite3.connect(data / "reviews.sqlite3")
    conn.execute("UPDATE records SET checks = 'not json' WHERE id = ?", (record_id,))
    conn.commit()
    conn.close()
    with ReviewStore(data) as store:
        assert [q["key"] for q in store.quarantined] == [record_id]
        assert store.get_record(record_id).checks == []


def test_the_review_bar_lists_the_flags_and_hides_when_there_are_none(tmp_path, scenarios):
    from aigc_demo.settings import preset_settings
    from aigc_demo.studio import Studio
    from aigc_demo.ui.review_bar import ReviewBars

    case, flags = _flags_for(scenarios, "medical-en-effusion-invented")
    studio = Studio(preset_settings("tiny", data_dir=tmp_path / "data"))
    bars = ReviewBars(studio, t=None)
    flagged = studio.store.add_record(OutputRecord("text", scenario="medical", output_text=case["text"], checks=flags))
    clean = studio.store.add_record(OutputRecord("text", scenario="medical", output_text="Fine."))
    shown = bars.checks([flagged, clean])
    assert shown["visible"] is True
    assert "pleural effusion" in shown["value"] and "口述所见" in shown["value"] and f"({len(flags)})" in shown["value"]
    assert bars.checks([clean])["visible"] is False and bars.checks([])["visible"] is False
    english, chinese = bars.checks([flagged], "en")["value"], bars.checks([flagged], "zh")["value"]
    assert "Check before approving" in english and "口述所见" not in english  # the page's language only
    assert "审核前请核对" in chinese and "dictated" not in chinese
    assert flags_markdown([]) == ""


def test_a_tiny_preset_scenario_run_stores_and_exports_the_checks(make_studio, scenarios, tmp_path):
    from aigc_demo.scenarios.runner import run_scenario

    studio = make_studio()
    service = scenarios["service"]
    paris = dict(service.examples[2])  # a question the FAQ does not cover
    final = list(run_scenario(studio, service, paris, seed=3, checker=grounding.checker))[-1]
    record = studio.store.get_record(final.record_ids("reply")[0])
    values = service.validate_values(paris)
    computed = service.compute(values, "en")
    expected = grounding.checker(service, "reply", values, computed, "en")(record.output_text)
    assert record.checks == expected  # what the run stored is what the check says of the stored text
    body = service.strip_finish(record.output_text)
    hands_over = bool(terms.cues("handover_cues").search(body))
    assert any(f["kind"] == "escalation" for f in record.checks) == (not hands_over)
    _, jsonl_path = studio.store.export(tmp_path / "export")
    exported = {item["id"]: item for item in map(json.loads, jsonl_path.read_text(encoding="utf-8").splitlines())}
    assert exported[record.id]["checks"] == record.checks
