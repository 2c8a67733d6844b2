"""Blind comparisons through the public API of the app launched on the tiny preset."""

from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = pytest.mark.slow

FIRST, SECOND = {"label": "first", "seed": 11}, {"label": "second", "seed": 22}
# Which variant the reviewer prefers, vote by vote: "second" wins most, one tie, one "both bad".
PLAN = ["second", "second", "second", "first", "second", "second", "tie", "second", "first", "both bad"]


def _seeds(client) -> dict[str, int]:
    return {row["id"]: row["seed"] for row in client.predict(scenario="medical", limit=500, api_name="/list_outputs")}


def test_start_with_no_arguments_compares_two_seeds_of_retail_without_naming_them(client):
    answer = client.predict(api_name="/start_comparison")
    assert answer["industry"] == "retail" and set(answer) == {"comparison_id", "industry", "task", "A", "B"}
    assert answer["A"]["text"] and answer["B"]["text"] and answer["A"]["record_id"] != answer["B"]["record_id"]
    seeds = {row["id"]: row["seed"] for row in client.predict(scenario="retail", limit=500, api_name="/list_outputs")}
    assert {seeds[answer["A"]["record_id"]], seeds[answer["B"]["record_id"]]} == {1, 2}  # both recorded
    model = client.predict(api_name="/system_status")["models"]["text"]
    wrapper = json.dumps({k: v for k, v in answer.items() if k not in ("A", "B")}) + json.dumps(
        [{k: v for k, v in answer[s].items() if k != "text"} for s in "AB"])
    for secret in (model, "seed", "variant", "label"):
        assert secret not in wrapper
    assert model not in answer["A"]["text"] + answer["B"]["text"]


def _width(variant: dict) -> float:
    return variant["ci_high"] - variant["ci_low"]


def test_ten_voted_comparisons_make_a_leaderboard_whose_counts_match_and_intervals_shrink(client, tmp_path):
    boards, started = [], []
    for number, preferred in enumerate(PLAN, start=1):
        answer = client.predict("medical", None, FIRST, SECOND, api_name="/start_comparison")
        for secret in ("first", "second", "seed"):
            assert secret not in json.dumps({k: v for k, v in answer.items() if k not in ("A", "B")})
        seeds = _seeds(client)
        by_variant = {{11: "first", 22: "second"}[seeds[answer[s]["record_id"]]]: s for s in "AB"}
        choice = by_variant.get(preferred, preferred)  # "tie" and "both bad" stay as they are
        vote = client.predict(answer["comparison_id"], choice, ["great"], "", api_name="/vote_comparison")
        assert vote["revealed"] == {label: name for name, label in by_variant.items()}
        started.append((answer, choice))
        if number in (5, 10):
            boards.append(client.predict("medical", api_name="/leaderboard"))

    medical = boards[-1]["by_industry"]["medical"]
    assert medical["votes"] == 10 and medical["ties"] == 1 and medical["both_bad"] == 1
    rows = {v["variant"]: v for v in medical["variants"]}
    assert (rows["second"]["wins"], rows["second"]["losses"], rows["second"]["ties"]) == (6, 2, 1)
    assert (rows["first"]["wins"], rows["first"]["losses"], rows["first"]["both_bad"]) == (2, 6, 1)
    assert rows["second"]["votes"] == rows["first"]["votes"] == 10
    assert medical["variants"][0]["variant"] == "second"  # the Bradley-Terry order follows the votes
    early = {v["variant"]: v for v in boards[0]["by_industry"]["medical"]["variants"]}
    assert early["second"]["wins"] == 4 and early["second"]["losses"] == 1
    for name in ("first", "second"):
        assert _width(rows[name]) < _width(early[name])
        assert rows[name]["bt_high"] - rows[name]["bt_low"] < early[name]["bt_high"] - early[name]["bt_low"]
    pair = medical["pairs"][0]
    assert pair["votes"] == 10 and pair["verdict"]["en"] and pair["verdict"]["zh"]

    # Voting again edits the reviewer's vote: the count stays, the result changes.
    answer, choice = started[0]
    other = {"A": "B", "B": "A"}[choice]
    client.predict(answer["comparison_id"], other, None, "changed my mind", api_name="/vote_comparison")
    again = {v["variant"]: v for v in client.predict("medical", api_name="/leaderboard")["by_industry"]["medical"]["variants"]}
    assert again["second"]["wins"] == 5 and again["first"]["wins"] == 3 and again["second"]["votes"] == 10

    paths = client.predict("medical", api_name="/export_preferences")
    jsonl = next(p for p in paths if str(p).endswith(".jsonl"))
    lines = [json.loads(line) for line in open(jsonl, encoding="utf-8")]
    assert len(lines) == 8  # ten votes less the tie and the "both bad"
    texts = {}
    for a, _ in started:
        texts[a["comparison_id"]] = {a[s]["record_id"]: a[s]["text"] for s in "AB"}
    for line in lines:
        assert {"prompt", "chosen", "rejected"} <= set(line) and line["industry"] == "medical"
        outputs = texts[line["comparison_id"]]
        assert line["chosen"] == outputs[line["chosen_record_id"]] and line["rejected"] == outputs[line["rejected_record_id"]]
        assert line["chosen_variant"] in ("first", "second") and line["chosen_variant"] != line["rejected_variant"]
    assert sum(line["chosen_variant"] == "second" for line in lines) == 5
    if importlib.util.find_spec("datasets") is not None:  # optional: the loader TRL's examples use
        import datasets

        loaded = datasets.load_dataset("json", data_files=str(jsonl), split="train")
        assert loaded.num_rows == 8 and loaded[0]["chosen"] == lines[0]["chosen"]


@pytest.mark.parametrize(("args", "message"), [
    (("nowhere", None, None, None), "industry: must be one of"),
    (("medical", {"age": 500}, None, None), "age: must be between"),
    (("medical", None, {"model": "tiny:nope"}, {"seed": 3}), "variant_a.model: 'tiny:nope' is not a text model this app offers; choose one of: tiny:text"),
    (("medical", None, {"voice": "x"}, {"seed": 3}), "variant_a: unknown key(s) voice"),
])
def test_bad_requests_are_named(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.predict(*args, api_name="/start_comparison")


def test_bad_votes_and_an_empty_queue_are_explained(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="no comparison with id"):
        client.predict("missing", "A", api_name="/vote_comparison")
    answer = client.predict("playground", {"prompt": "Name a tea."}, api_name="/start_comparison")
    with pytest.raises(AppError, match="choice: must be one of A, B, tie, both bad"):
        client.predict(answer["comparison_id"], "C", api_name="/vote_comparison")
    queued = client.predict("comparison", "playground", api_name="/review_queue")
    assert queued["comparison_id"] == answer["comparison_id"] and queued["A"]["text"] == answer["A"]["text"]
    client.predict(answer["comparison_id"], "tie", api_name="/vote_comparison")
    assert client.predict("comparison", "playground", api_name="/review_queue") == {}
    output = client.predict("output", "playground", api_name="/review_queue")
    # the oldest unrated playground output: the comparison's own, unless other tests' apps came first
    assert output["industry"] == "playground" and output["record_id"]
