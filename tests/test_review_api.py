"""Review through the public API: record, rate, change, list, export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_generation_is_recorded_rated_changed_listed_and_exported(client):
    from gradio_client import Client

    _, seed, details = client.predict(prompt="a bamboo bottle", width=64, height=64, seed=21, api_name="/generate_image")
    record_id = details["record_id"]

    rows = client.predict(modality="image", api_name="/list_outputs")
    row = next(r for r in rows if r["id"] == record_id)
    assert row["seed"] == 21 and row["rating"] is None and row["scenario"] == "playground"

    review = client.predict(record_id=record_id, rating=2, tags=["low quality"], comment="blurry", api_name="/submit_review")
    assert review["rating"] == 2 and review["tags"] == ["low quality"]
    me = review["reviewer"]  # no login: this client's guest id
    assert me.startswith("guest-")
    client.predict(record_id=record_id, rating=5, tags=["great"], comment="on second look, fine", api_name="/submit_review")
    other = Client(client.src, analytics_enabled=False, verbose=False)  # another person (another session)
    them = other.predict(record_id=record_id, rating=1, api_name="/submit_review")["reviewer"]
    assert them.startswith("guest-") and them != me

    rows = client.predict(min_rating=1, api_name="/list_outputs")
    row = next(r for r in rows if r["id"] == record_id)
    assert row["review_count"] == 2  # my edit replaced my first review; the other client added theirs

    files = client.predict(api_name="/export_reviews")
    paths = [Path(f["path"] if isinstance(f, dict) else f) for f in files]
    jsonl = next(p for p in paths if p.suffix == ".jsonl")
    records = {json.loads(line)["id"]: json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()}
    exported = records[record_id]
    assert exported["seed"] == 21 and exported["params"]["width"] == 64
    assert {(r["reviewer"], r["rating"], r["comment"]) for r in exported["reviews"]} == {(me, 5, "on second look, fine"), (them, 1, "")}
    table = next(p for p in paths if p.suffix == ".csv")
    with open(table, encoding="utf-8-sig") as handle:
        assert sum(1 for r in csv.DictReader(handle) if r["id"] == record_id) == 2


def test_reviewing_an_unknown_output_is_a_clear_error(client):
    from gradio_client.exceptions import AppError
    import pytest

    with pytest.raises(AppError, match="record"):
        client.predict(record_id="no-such-id", rating=3, api_name="/submit_review")
