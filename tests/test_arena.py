"""Blind A/B comparisons on the tiny preset: storage, statistics, leaderboard, preference export."""

from __future__ import annotations

import json

import pytest

from aigc_demo.arena import leaderboard
from aigc_demo.arena.compare import run_comparison
from aigc_demo.arena.preferences import write_preferences
from aigc_demo.arena.stats import bradley_terry, krippendorff_alpha, wilson
from aigc_demo.core.types import ValidationError
from aigc_demo.industries import load_scenarios
from aigc_demo.record import arena
from aigc_demo.record.schema import SCHEMA_VERSION


@pytest.fixture(scope="module")
def scenarios():
    return {s.id: s for s in load_scenarios()}


def test_wilson_matches_the_textbook_values():
    low, high = wilson(7, 10)  # Wilson (1927) / Newcombe (1998): 7/10 -> 0.3968-0.8922
    assert (round(low, 4), round(high, 4)) == (0.3968, 0.8922)
    assert wilson(0, 0) == (0.0, 1.0)
    widths = [wilson(0.7 * n, n)[1] - wilson(0.7 * n, n)[0] for n in (10, 40, 160)]
    assert widths[0] > widths[1] > widths[2]


def test_bradley_terry_orders_players_by_results():
    games = [(0, 1, 1.0)] * 6 + [(1, 0, 1.0)] * 2 + [(1, 2, 1.0)] * 6 + [(2, 1, 1.0)] * 2 + [(0, 2, 0.5)] * 2
    strength = bradley_terry(games, 3)
    assert strength[0] > strength[1] and strength[2] < strength[1]
    # two players, no prior: the MLE is the odds of the results (6 wins of 8 -> 3:1)
    two = bradley_terry([(0, 1, 1.0)] * 6 + [(1, 0, 1.0)] * 2, 2, prior=0.0)
    assert two[0] / two[1] == pytest.approx(3.0, rel=1e-6)


def test_krippendorff_alpha_agrees_with_the_reference_package():
    krippendorff = pytest.importorskip("krippendorff")
    import numpy as np

    units = {
        "r1": {"ann": 1, "bo": 2, "cy": 1}, "r2": {"ann": 4, "bo": 4}, "r3": {"ann": 5, "bo": 4, "cy": 5},
        "r4": {"ann": 2, "bo": 1}, "r5": {"ann": 3, "cy": 3}, "r6": {"bo": 5, "cy": 5}, "r7": {"ann": 1},
    }
    raters = ["ann", "bo", "cy"]
    data = np.array([[units[u].get(r, np.nan) for u in units] for r in raters], dtype=float)
    for level in ("ordinal", "nominal"):
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert krippendorff_alpha(units, level) == pytest.approx(expected, abs=1e-9)
    assert krippendorff_alpha({"x": {"ann": 3, "bo": 3}}) is None  # no variation: undefined


def test_a_comparison_is_recorded_voted_once_per_reviewer_and_exported(studio, scenarios, tmp_path):
    assert studio.store.schema_version() == SCHEMA_VERSION
    comparison, sides = run_comparison(studio, scenarios)  # Retail's worked example, seeds 1 and 2
    assert comparison.scenario == "retail" and comparison.task == "copy"
    assert {comparison.variant_a["seed"], comparison.variant_b["seed"]} == {1, 2}
    records = {rid: studio.store.get_record(rid) for rid in (comparison.record_a, comparison.record_b)}
    assert {r.seed for r in records.values()} == {1, 2} and all(r.scenario == "retail" for r in records.values())
    assert {sides["A"].record_id, sides["B"].record_id} == set(records)
    assert sides["A"].text == records[sides["A"].record_id].output_text

    arena.vote(studio.store, comparison.id, "A", "ann", ["great"], "crisper")
    edited = arena.vote(studio.store, comparison.id, "b", "ann")  # the same reviewer edits the vote
    arena.vote(studio.store, comparison.id, "both bad", "bo")
    votes = arena.voted_comparisons(studio.store)
    assert [(v["reviewer"], v["choice"]) for v in votes] == [("ann", "B"), ("bo", "both_bad")]
    assert edited.choice == "B" and edited.tags == []
    b_variant = "a" if comparison.shown == "ba" else "b"
    assert votes[0]["winner"] == b_variant

    paths, counts = write_preferences(studio.store, tmp_path / "prefs")
    lines = [json.loads(line) for line in paths[0].read_text(encoding="utf-8").splitlines()]
    assert counts == {"pairs": 1, "tie": 0, "both_bad": 1, "no_text": 0}
    assert len(lines) == 1 and lines[0]["chosen"] == sides["B"].text and lines[0]["rejected"] == sides["A"].text
    assert lines[0]["prompt"] == records[sides["B"].record_id].prompt and lines[0]["reviewer"] == "ann"
    assert lines[0]["industry"] == "retail"

    assert arena.next_comparison(studio.store, "ann") is None
    assert arena.next_comparison(studio.store, "cy").id == comparison.id
    assert arena.next_comparison(studio.store, "cy", "medical") is None
    assert arena.next_unrated_output(studio.store, "cy") in records


@pytest.mark.parametrize("choice", ["C", "", None, 2])
def test_a_vote_that_is_not_a_b_tie_or_both_bad_is_refused(studio, scenarios, choice):
    comparison, _ = run_comparison(studio, scenarios, "playground")
    with pytest.raises(ValidationError, match="choice"):
        arena.vote(studio.store, comparison.id, choice, "ann")
    with pytest.raises(ValidationError, match="comparison_id"):
        arena.vote(studio.store, "nope", "A", "ann")
    assert arena.voted_comparisons(studio.store) == []


@pytest.mark.parametrize(("variant_a", "variant_b", "field"), [
    ({"model": "tiny:nope"}, {"seed": 2}, "variant_a.model"),
    ({"voice": "x"}, {"seed": 2}, "variant_a"),
    ({"seed": 1}, {"seed": 1}, "variant_b"),
    ({"params": {"warmth": 3}}, {"seed": 2}, "variant_a.params"),
    ({"seed": -5}, {"seed": 2}, "variant_a.seed"),
    ("not json", {"seed": 2}, "variant_a"),
])
def test_bad_variants_are_named_before_anything_runs(studio, scenarios, variant_a, variant_b, field):
    with pytest.raises(ValidationError) as caught:
        run_comparison(studio, scenarios, "medical", None, variant_a, variant_b)
    assert caught.value.field == field
    assert studio.store.list_outputs() == []


def test_parameter_and_prompt_variants_change_what_runs(studio, scenarios):
    a = {"label": "cold", "params": {"temperature": 0.0}, "seed": 5}
    b = {"label": "short prompt", "prompt": "Write a title for $product_name.", "seed": 5}
    comparison, sides = run_comparison(studio, scenarios, "retail", {"product_name": "Tea kettle"}, a, b, shown="ab")
    rec_a, rec_b = (studio.store.get_record(sides[k].record_id) for k in "AB")
    assert rec_a.params["temperature"] == 0.0 and rec_b.prompt.startswith("Write a title for Tea kettle")
    assert "Tea kettle" in rec_a.prompt and comparison.inputs["product_name"] == "Tea kettle"


def test_leaderboard_counts_votes_and_says_who_is_better():
    def vote(winner: str, scenario: str = "medical") -> dict:
        return {"scenario": scenario, "variant_a": {"seed": 1}, "variant_b": {"seed": 2}, "winner": winner}

    votes = [vote("b")] * 28 + [vote("a")] * 10 + [vote("tie")] * 2 + [vote("both_bad")] + [vote("a", "retail")] * 3
    votes += [vote("a", "film")] * 6 + [vote("b", "film")] * 5
    board = leaderboard.build(votes, {"medical": {"en": "medical reports", "zh": "医疗报告"}}, rounds=50)
    medical = board["by_industry"]["medical"]
    assert medical["votes"] == 41 and medical["ties"] == 2 and medical["both_bad"] == 1
    best = medical["variants"][0]
    assert best["variant"] == "seed=2" and (best["wins"], best["losses"], best["ties"]) == (28, 10, 2)
    assert best["win_rate"] == pytest.approx(29 / 40) and best["ci_low"] < best["win_rate"] < best["ci_high"]
    assert best["bt_low"] <= best["bt_score"] <= best["bt_high"]
    verdict = medical["pairs"][0]["verdict"]
    assert verdict["en"].startswith("seed=2 is better than seed=1 on medical reports: 72 % of 40 votes, 95 % CI 57-84 %")
    assert "医疗报告" in verdict["zh"] and "优于" in verdict["zh"]
    retail = board["by_industry"]["retail"]["pairs"][0]["verdict"]
    assert retail["en"].startswith("Not enough votes yet") and "投票还不够" in retail["zh"]
    film = board["by_industry"]["film"]["pairs"][0]["verdict"]
    assert film["en"].startswith("No clear winner on film yet: seed=1 wins 55 % of 11 votes") and "暂无明确胜者" in film["zh"]
    assert board["overall"]["votes"] == len(votes)
    overall = {v["variant"]: v for v in board["overall"]["variants"]}
    assert overall["seed=1"]["wins"] == 10 + 3 + 6 and overall["seed=2"]["wins"] == 28 + 5


def test_a_form_cannot_name_a_server_file_but_may_name_an_upload(studio, scenarios, tmp_path):
    secret = tmp_path / "server" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("date,close\n2026-01-02,10\n2026-01-05,11\n2026-01-06,12\n", encoding="utf-8")
    for value in (str(secret), {"path": str(secret)}, "../" * 12 + str(secret)[1:]):
        with pytest.raises(ValidationError) as caught:
            run_comparison(studio, scenarios, "market", {"prices": value}, upload_roots=[tmp_path / "uploads"])
        assert caught.value.field == "prices" and "uploaded file" in str(caught.value)
    upload = tmp_path / "uploads" / "abc" / "prices.csv"
    upload.parent.mkdir(parents=True)
    upload.write_text(secret.read_text(), encoding="utf-8")
    comparison, _ = run_comparison(studio, scenarios, "market", {"prices": {"path": str(upload)}},
                                   upload_roots=[tmp_path / "uploads"])
    assert comparison.inputs["prices"] == str(upload)
    default, _ = run_comparison(studio, scenarios, "market", {"prices": "assets/data/sample_prices.csv"})
    assert default.inputs["prices"].endswith("sample_prices.csv")


def test_comparison_storage_works_on_both_databases(tmp_path, database_url):
    from aigc_demo.record.models import OutputRecord
    from aigc_demo.record.store import ReviewStore

    with ReviewStore(tmp_path / "data", database_url=database_url) as store:
        first = store.add_record(OutputRecord("text", scenario="medical", prompt="p", output_text="left kidney"))
        second = store.add_record(OutputRecord("text", scenario="medical", prompt="p", output_text="right kidney"))
        comparison = arena.Comparison("medical", first, second, {"seed": 1}, {"seed": 2}, task="report", shown="ba")
        arena.add_comparison(store, comparison)
        assert arena.next_comparison(store, "ann", "medical").id == comparison.id
        arena.vote(store, comparison.id, "A", "ann", ["accurate"], "")
        arena.vote(store, comparison.id, "tie", "ann")  # edited, not added
        arena.vote(store, comparison.id, "B", "bo")
        votes = arena.voted_comparisons(store, "medical")
        assert [(v["reviewer"], v["winner"]) for v in votes] == [("ann", "tie"), ("bo", "a")]  # "ba": B is a
        assert arena.shared_votes(store) == {comparison.id: {"ann": "tie", "bo": "a"}}
        assert arena.next_comparison(store, "ann") is None and arena.next_unrated_output(store, "ann") in {first, second}
        assert arena.get_comparison(store, comparison.id).variant_b == {"seed": 2}
