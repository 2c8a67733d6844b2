"""The review store: records, reviews, filters, summary, export, concurrency, crashes, migration."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from aigc_demo.core.files import atomic_path, new_output_path
from aigc_demo.core.types import GenerationResult, ValidationError
from aigc_demo.record import (
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    THUMBS_DOWN,
    THUMBS_UP,
    OutputRecord,
    ReviewStore,
    migrate,
    provenance,
)
from aigc_demo.studio import RunContext

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path, database_url):
    """A fresh store on each backend: SQLite in the data dir, then a PostgreSQL database."""
    with ReviewStore(tmp_path / "data", database_url=database_url) as opened:
        yield opened


def _png_output(store: ReviewStore, color: int = 0) -> Path:
    path = new_output_path(store.outputs_dir, "image", ".png")
    with atomic_path(path) as tmp:
        Image.new("RGB", (16, 16), (color, 0, 0)).save(tmp)
    return path


def _text_record(**fields) -> dict:
    return {"modality": "text", "prompt": "写一段茶杯文案", "output_text": "青瓷茶杯……", **fields}


# ---------------------------------------------------------------- records and reviews


def test_record_round_trip(store, tmp_path):
    if store.database.name == "sqlite":
        assert store.db_path == (tmp_path / "data" / DB_NAME).resolve()
        assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    else:
        assert store.db_path is None and store.location.startswith("postgresql://")
    assert store.schema_version() == SCHEMA_VERSION
    png = _png_output(store)
    record = OutputRecord(
        modality="image", scenario="retail", task="product_image", prompt="青瓷茶杯, studio light",
        params={"width": 16, "height": 16, "guidance_scale": 0.0}, seed=42, model_ref="tiny/sd",
        preset="tiny", device="cpu", load_seconds=1.5, generate_seconds=0.25, file_paths=[str(png)],
        session_id="s1",
    )  # fmt: skip
    record_id = store.add_record(record)
    assert record_id == record.id and len(record_id) == 32
    got = store.get_record(record_id)
    assert got == record  # every field survives, paths come back absolute
    # on disk the path is stored relative to the data directory
    stored = store.query("SELECT file_paths FROM records WHERE id = ?", (record_id,))[0][0]
    assert json.loads(stored) == [png.relative_to(store.data_dir).as_posix()]
    assert got.created_at.endswith("+00:00")

    # a dict and keyword arguments work too
    id2 = store.add_record(_text_record(scenario="medical"))
    id3 = store.add_record(modality="text", prompt="hi", seed=1)
    assert store.get_record(id2).output_text == "青瓷茶杯……"
    assert store.get_record(id3).scenario == "playground"
    assert store.get_record("nope") is None


def test_record_from_generation_result(store, studio):
    """A generator's result becomes a record the way the app builds it (Studio.record_fields)."""
    png = _png_output(store)
    result = GenerationResult(
        modality="image", model_ref="tiny/sd", seed=9, params={"prompt": "a cup", "seed": 9},
        files=[png], load_seconds=0.5, generate_seconds=0.1, notes=["smoke-test model"],
    )  # fmt: skip
    record = OutputRecord(**studio.record_fields(result, RunContext("retail", "banner")))
    store.add_record(record)
    got = store.get_record(record.id)
    assert (got.prompt, got.seed, got.status, got.notes) == ("a cup", 9, "ok", ["smoke-test model"])
    assert (got.scenario, got.task, got.preset, got.model_ref) == ("retail", "banner", "tiny", "tiny/sd")
    assert got.file_paths == [str(png)]
    assert record.provenance()["id"] == record.id and "session_id" not in record.provenance()


def test_add_record_validates(store, tmp_path):
    with pytest.raises(ValidationError, match="file_paths"):
        store.add_record(modality="image", file_paths=[str(store.outputs_dir / "never-written.png")])
    with pytest.raises(ValidationError, match="modality"):
        store.add_record(modality="smell")
    with pytest.raises(ValidationError, match="unknown field"):
        store.add_record(modality="text", colour="red")
    with pytest.raises(ValidationError, match="status"):
        store.add_record(modality="text", status="great")
    record_id = store.add_record(modality="text")
    with pytest.raises(ValidationError, match="already recorded"):
        store.add_record(modality="text", id=record_id)
    # a cancelled or failed run may have no file
    store.add_record(modality="image", status="error", notes=["out of memory"],
                     file_paths=[str(store.outputs_dir / "never-written.png")])  # fmt: skip
    # files outside the data directory are stored with their absolute path
    outside = tmp_path / "elsewhere.png"
    Image.new("RGB", (4, 4)).save(outside)
    rid = store.add_record(modality="image", file_paths=[str(outside)])
    assert store.get_record(rid).file_paths == [str(outside.resolve())]


def test_review_attaches_and_is_editable(store):
    record_id = store.add_record(_text_record())
    first = store.submit_review(record_id, THUMBS_UP, tags=["great"], comment="可以直接用", reviewer="Li")
    assert (first.rating, first.tags, first.reviewer, first.thumbs_up) == (5, ["great"], "Li", True)

    edited = store.submit_review(record_id, 2, tags="off-brand, compliance risk, off-brand", comment="再看", reviewer="Li")
    assert edited.tags == ["off-brand", "compliance risk"]
    assert edited.created_at == first.created_at and edited.updated_at > first.updated_at
    other = store.submit_review(record_id, "down", reviewer="Ana")
    assert other.rating == THUMBS_DOWN

    reviews = store.get_reviews(record_id)
    assert [(r.reviewer, r.rating) for r in reviews] == [("Ana", 1), ("Li", 2)]  # one per reviewer, newest first
    row = store.list_outputs()[0]
    assert (row["rating"], row["reviewer"], row["review_count"], row["mean_rating"]) == (1, "Ana", 2, 1.5)


def test_review_validation(store):
    record_id = store.add_record(_text_record())
    with pytest.raises(ValidationError, match="record_id"):
        store.submit_review("0" * 32, 5, reviewer="Li")
    for bad in (0, 6, 2.5, True, None, "meh"):
        with pytest.raises(ValidationError, match="rating"):
            store.submit_review(record_id, bad, reviewer="Li")
    with pytest.raises(ValidationError, match="tags"):
        store.submit_review(record_id, 3, tags=["x" * 41], reviewer="Li")
    with pytest.raises(ValidationError, match="comment"):
        store.submit_review(record_id, 3, comment="x" * 5000, reviewer="Li")
    with pytest.raises(ValidationError, match="reviewer: is required"):  # blank reviews would overwrite each other
        store.submit_review(record_id, 3, reviewer=" ")
    assert store.get_reviews(record_id) == []
    assert store.submit_review(record_id, "4", reviewer="Li").rating == 4


# ---------------------------------------------------------------- listing, summary, export


def _seed_examples(store: ReviewStore) -> dict[str, str]:
    """Six records, hand-made so the summary can be checked by hand."""
    def text(scenario: str, model: str, session: str, day: str) -> str:
        return store.add_record(_text_record(scenario=scenario, model_ref=model, session_id=session, created_at=day))

    png = str(_png_output(store))
    ids = {
        "r1": text("retail", "qwen", "a", "2024-05-01T09:00:00+00:00"),
        "r2": text("retail", "qwen", "a", "2024-05-02T09:00:00+00:00"),
        "r3": store.add_record(modality="image", file_paths=[png], scenario="retail", model_ref="sd",
                               session_id="b", created_at="2024-05-03T09:00:00+00:00"),
        "m1": text("medical", "qwen", "b", "2024-05-04T09:00:00+00:00"),
        "m2": text("medical", "smol", "b", "2024-05-05T23:59:59+00:00"),
        "p1": text("playground", "smol", "", "2024-05-06T09:00:00+00:00"),
    }  # fmt: skip
    store.submit_review(ids["r1"], 5, reviewer="x")
    store.submit_review(ids["r1"], 4, reviewer="y")
    store.submit_review(ids["r2"], 1, reviewer="x")
    store.submit_review(ids["r3"], 3, reviewer="x")
    store.submit_review(ids["m1"], 5, reviewer="x")
    return ids


def test_list_outputs_filters(store):
    ids = _seed_examples(store)

    def listed(**filters):
        return [row["id"] for row in store.list_outputs(**filters)]

    assert listed() == [ids[k] for k in ("p1", "m2", "m1", "r3", "r2", "r1")]  # newest first
    assert listed(scenario="retail") == [ids["r3"], ids["r2"], ids["r1"]]
    assert listed(modality="image") == [ids["r3"]]
    assert listed(model="smol") == [ids["p1"], ids["m2"]]
    assert listed(min_rating=4) == [ids["m1"], ids["r1"]]  # r1's latest review is 4 (by y)
    assert listed(min_rating="up") == [ids["m1"]]
    assert listed(since="2024-05-05", until="2024-05-05") == [ids["m2"]]  # a bare date: that whole day
    assert listed(since="2024-05-02T09:00:00Z", until="2024-05-04T09:00:00Z") == [ids["r3"], ids["r2"]]
    assert listed(session_id="a") == [ids["r2"], ids["r1"]]
    assert listed(scenario="retail", session_id="b") == [ids["r3"]]
    assert listed(limit=2) == [ids["p1"], ids["m2"]]
    row = store.list_outputs(modality="image")[0]
    assert Path(row["file_paths"][0]).is_file() and row["rating"] == 3 and row["tags"] == []
    unrated = store.list_outputs(model="smol")[0]
    assert unrated["rating"] is None and unrated["review_count"] == 0


def test_summary_figures(store):
    _seed_examples(store)
    summary = store.summary()
    # reviews: 5, 4, 1, 3, 5 -> mean 18/5 = 3.6; >= 4 are 3 of 5
    assert summary["count"] == 6 and summary["rated"] == 4 and summary["reviews"] == 5
    assert summary["mean_rating"] == 3.6 and summary["thumbs_up_share"] == 0.6
    retail = summary["by_scenario"]["retail"]  # reviews 5, 4, 1, 3
    assert (retail["count"], retail["rated"], retail["mean_rating"], retail["thumbs_up_share"]) == (3, 3, 3.25, 0.5)
    medical = summary["by_scenario"]["medical"]
    assert (medical["count"], medical["rated"], medical["mean_rating"], medical["thumbs_up_share"]) == (2, 1, 5.0, 1.0)
    assert summary["by_scenario"]["playground"]["mean_rating"] is None
    qwen = summary["by_model"]["qwen"]  # r1 (5, 4), r2 (1), m1 (5)
    assert (qwen["count"], qwen["rated"], qwen["mean_rating"], qwen["thumbs_up_share"]) == (3, 3, 3.75, 0.75)
    assert summary["by_model"]["smol"]["rated"] == 0
    assert store.summary(scenario="medical")["count"] == 2


def test_export_contains_every_record_and_review(store, tmp_path):
    ids = _seed_examples(store)
    store.submit_review(ids["m1"], 2, tags=["factual error", "合规风险"], comment='line1\nline2, "quoted"', reviewer="z")
    csv_path, jsonl_path = store.export(tmp_path / "exports")
    assert csv_path.suffix == ".csv" and jsonl_path.suffix == ".jsonl"

    lines = [json.loads(line) for line in jsonl_path.read_text(encoding="utf-8").splitlines()]
    assert {item["id"] for item in lines} == set(ids.values())
    by_id = {item["id"]: item for item in lines}
    assert {(r["reviewer"], r["rating"]) for r in by_id[ids["r1"]]["reviews"]} == {("x", 5), ("y", 4)}
    assert by_id[ids["m1"]]["reviews"][-1]["tags"] == ["factual error", "合规风险"]
    assert by_id[ids["p1"]]["reviews"] == []
    assert by_id[ids["r3"]]["file_paths"][0].startswith("outputs/")
    assert sum(len(item["reviews"]) for item in lines) == 6

    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 + 2  # one row per review, plus one each for unreviewed p1 and m2
    assert {row["id"] for row in rows} == set(ids.values())
    reviewed = [(row["id"], row["reviewer"], int(row["rating"])) for row in rows if row["rating"]]
    assert len(reviewed) == 6
    z_row = next(row for row in rows if row["reviewer"] == "z")
    assert json.loads(z_row["tags"]) == ["factual error", "合规风险"]
    assert z_row["comment"] == 'line1\nline2, "quoted"'
    assert z_row["prompt"] == "写一段茶杯文案" and json.loads(z_row["params"]) == {}
    assert not [p for p in csv_path.parent.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- concurrency and crashes


def test_twenty_threads_lose_nothing(store):
    shared = store.add_record(_text_record())
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []
    per_thread = 10

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                rid = store.add_record(_text_record(prompt=f"t{n}-{i}", session_id=f"s{n}"))
                store.submit_review(rid, 1 + (i % 5), reviewer=f"r{n}")
                store.submit_review(shared, 1 + (n % 5), reviewer=f"r{n}", comment=f"pass {i}")
                store.list_outputs(session_id=f"s{n}", limit=5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.summary()["count"] == 20 * per_thread + 1
    for n in range(20):
        rows = store.list_outputs(session_id=f"s{n}", limit=100)
        assert sorted(row["prompt"] for row in rows) == sorted(f"t{n}-{i}" for i in range(per_thread))
        assert all(row["review_count"] == 1 for row in rows)
    shared_reviews = store.get_reviews(shared)
    assert len(shared_reviews) == 20 and {r.comment for r in shared_reviews} == {f"pass {per_thread - 1}"}


CHILD = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    from PIL import Image
    from aigc_demo.core.files import atomic_path, new_output_path
    from aigc_demo.record import OutputRecord, ReviewStore, provenance

    store = ReviewStore(sys.argv[1])
    rng = np.random.default_rng(0)
    for i in range(100000):
        path = new_output_path(store.outputs_dir, "image", ".png")
        with atomic_path(path) as tmp:
            Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(tmp)
        record = OutputRecord(modality="image", prompt=f"p{i}", seed=i, file_paths=[str(path)])
        provenance.embed(path, record.provenance())
        record.notes = [hashlib.sha256(path.read_bytes()).hexdigest()]
        store.add_record(record)
        store.add_record(modality="text", prompt=f"t{i}", output_text="x" * 2000)
        store.submit_review(record.id, 1 + i % 5, reviewer="bot")
        print(i, flush=True)
    """
)


def test_killed_writer_leaves_consistent_store(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(data)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(25):  # wait until it is well into its loop, then kill it mid-stride
            assert child.stdout.readline(), "writer exited early"
        time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with ReviewStore(data) as store:
        assert store.query("PRAGMA integrity_check")[0][0] == "ok"
        assert store.report.missing == []  # no record lost its file
        assert len(store.report.orphans) <= 1  # at most the file written just before the kill
        images = store.list_outputs(modality="image", limit=10_000)
        assert len(images) >= 25
        for row in images:
            assert row["status"] == "ok"
            path = Path(row["file_paths"][0])
            assert hashlib.sha256(path.read_bytes()).hexdigest() == row["notes"][0]  # complete file
            with Image.open(path) as image:
                image.load()
                assert image.size == (128, 128)
            assert provenance.read(path)["id"] == row["id"]
        # the database is still writable after the crash
        rid = store.add_record(modality="text", prompt="after crash")
        assert store.submit_review(rid, 5, reviewer="Li").rating == 5


def test_missing_files_are_marked_on_open(tmp_path):
    data = tmp_path / "data"
    with ReviewStore(data) as store:
        kept, lost = _png_output(store), _png_output(store, 200)
        kept_id = store.add_record(modality="image", file_paths=[str(kept)])
        lost_id = store.add_record(modality="image", file_paths=[str(lost)])
        orphan = _png_output(store, 100)
        (store.outputs_dir / ".image-x.tmp.png").write_bytes(b"half")
    lost.unlink()
    with ReviewStore(data) as store:
        assert store.report.missing == [lost_id]
        assert store.report.orphans == [orphan]
        assert [p.name for p in store.report.temp_files] == [".image-x.tmp.png"]
        assert store.get_record(lost_id).status == "missing_file"
        assert store.get_record(kept_id).status == "ok"
        assert [row["id"] for row in store.list_outputs(status="ok")] == [kept_id]


# ---------------------------------------------------------------- schema migration


def _make_v1_database(data: Path) -> None:
    data.mkdir(parents=True)
    conn = sqlite3.connect(data / DB_NAME, isolation_level=None)
    assert migrate(conn, target=1) == 0
    conn.execute(
        "INSERT INTO records (id, created_at, scenario, task, modality, prompt, params, seed, model_ref,"
        " file_paths) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("old1", "2024-01-01T00:00:00.000000+00:00", "retail", "copy", "text", "旧的提示", '{"top_p": 0.9}', 3,
         "qwen", "[]"),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO reviews (record_id, rating, comment, updated_at) VALUES (?, ?, ?, ?)",
        ("old1", 4, "fine", "2024-01-02T00:00:00.000000+00:00"),
    )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_v1_database_migrates_and_keeps_rows(tmp_path):
    data = tmp_path / "data"
    _make_v1_database(data)
    with ReviewStore(data) as store:
        assert store.migrated_from == 1 and store.schema_version() == SCHEMA_VERSION == 6
        old = store.get_record("old1")
        assert (old.prompt, old.params, old.seed, old.notes) == ("旧的提示", {"top_p": 0.9}, 3, [])
        [review] = store.get_reviews("old1")
        assert (review.reviewer, review.rating, review.tags, review.comment) == ("", 4, [], "fine")
        store.submit_review("old1", 2, tags=["off-brand"], reviewer="new reviewer")  # v2 feature
        assert len(store.get_reviews("old1")) == 2
        assert store.list_outputs()[0]["rating"] == 2
    with ReviewStore(data) as store:  # reopening is a no-op
        assert store.migrated_from == SCHEMA_VERSION and len(store.get_reviews("old1")) == 2


def test_failed_migration_rolls_back_and_newer_schema_is_refused(tmp_path, monkeypatch):
    from aigc_demo.record import schema

    data = tmp_path / "data"
    ReviewStore(data).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE records ADD COLUMN half_done TEXT")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(schema, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="disk on fire"):
        ReviewStore(data)
    conn = sqlite3.connect(data / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "half_done" not in [row[1] for row in conn.execute("PRAGMA table_info(records)")]
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match="newer than this app"):
        ReviewStore(data)
