"""The start-up self-check (issue 16, item 6): a broken data directory or database refuses to
start with one line; a damaged row is quarantined and shown; leftovers of failed writes are
removed at start-up (item 5); the same check is in /system_status."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aigc_demo.record import DB_NAME, ReviewStore
from aigc_demo.record.health import remove_leftovers, self_check

ROOT = Path(__file__).resolve().parents[1]


def _store_with_rows(data: Path, n: int = 30) -> None:
    with ReviewStore(data) as store:
        for i in range(n):
            store.add_record(modality="text", prompt=f"prompt {i}", scenario=f"s{i % 3}")


def test_a_sound_data_directory_passes(tmp_path):
    health = self_check(tmp_path / "data", min_free_mb=1)
    assert health.ok and health.problem == "" and health.store is not None
    assert [c.name for c in health.checks] == ["data_dir", "disk", "database", "integrity", "schema"]
    assert str(tmp_path) not in json.dumps(health.as_dict())  # shown to users without server paths


def test_a_data_directory_that_cannot_be_made_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    health = self_check(blocker / "data", min_free_mb=1)
    assert not health.ok and "is not writable" in health.problem and "AIGC_DATA_DIR" in health.problem


def test_a_read_only_data_directory_is_refused(tmp_path):
    data = tmp_path / "ro"
    data.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(data)], capture_output=True).returncode:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        health = self_check(data, min_free_mb=0)
        assert not health.ok and "not writable (Read-only file system)" in health.problem
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_NAME).write_bytes(b"this is not a database, " * 100)
    health = self_check(data, min_free_mb=1)
    assert not health.ok and "cannot be opened (file is not a database)" in health.problem


def test_a_database_failing_its_integrity_check_is_refused(tmp_path):
    data = tmp_path / "data"
    _store_with_rows(data)
    conn = sqlite3.connect(data / DB_NAME)  # an index that no longer matches its table
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX records_scenario ON records(prompt, created_at)' "
                 "WHERE name = 'records_scenario'")
    conn.commit()
    conn.close()
    health = self_check(data, min_free_mb=1)
    assert not health.ok and "failed its integrity check (row 1 missing from index records_scenario)" in health.problem


def test_a_newer_schema_is_refused(tmp_path):
    data = tmp_path / "data"
    _store_with_rows(data, 1)
    conn = sqlite3.connect(data / DB_NAME)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    health = self_check(data, min_free_mb=1)
    assert not health.ok and "schema v99, newer than this app" in health.problem


def test_too_little_free_disk_is_refused(tmp_path):
    health = self_check(tmp_path / "data", min_free_mb=10**9)
    assert not health.ok and health.problem.startswith("only ") and "AIGC_MIN_FREE_DISK_MB" in health.problem


def test_a_damaged_row_is_quarantined_and_the_rest_works(tmp_path):
    data = tmp_path / "data"
    _store_with_rows(data, 3)
    with ReviewStore(data) as store:
        good = store.list_outputs()[0]["id"]
        store.submit_review(good, 4, tags=["great"], reviewer="ann")
        bad = store.list_outputs()[1]["id"]
    conn = sqlite3.connect(data / DB_NAME)
    conn.execute("UPDATE records SET params = '{\"width\": 64,' WHERE id = ?", (bad,))  # truncated JSON
    conn.execute("UPDATE reviews SET tags = 'great' WHERE record_id = ?", (good,))
    conn.commit()
    conn.close()
    health = self_check(data, min_free_mb=1)
    assert health.ok
    assert {(q["kind"], q["reason"]) for q in health.quarantined} == {("record", "params: not valid JSON"),
                                                                      ("review", "tags: not valid JSON")}
    store = health.store
    assert {r["id"]: r["status"] for r in store.list_outputs()}[bad] == "quarantined"
    assert store.get_record(bad).params == {} and store.get_reviews(good)[0].tags == []
    raw = json.loads(store.query("SELECT raw FROM quarantine WHERE kind = 'record'")[0][0])
    assert raw["params"] == '{"width": 64,'  # kept as it was
    assert store.summary()["count"] == 3
    store.close()
    assert ReviewStore(data).quarantined == []  # found once; reopening finds nothing new


def test_leftovers_of_failed_writes_are_removed_at_start_up(tmp_path):
    data = tmp_path / "data"
    with ReviewStore(data) as store:
        outputs = store.outputs_dir
        kept = outputs / "image-kept.png"
        kept.write_bytes(b"png")
        store.add_record(modality="image", file_paths=[str(kept)])
        (outputs / "image-kept.png.json").write_text("{}")
        leftovers = [outputs / "video-orphan.mp4", outputs / "empty.wav", outputs / ".audio-x.tmp.wav",
                     outputs / "gone.png.json", outputs / ".run-0123abcd" / "image-half.png"]
        for path in leftovers:
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"" if path.name == "empty.wav" else b"x")
        young = outputs / "image-being-written.png"
        young.write_bytes(b"x")
        old = time.time() - 3600
        for path in [*leftovers, kept]:
            os.utime(path, (old, old))
        removed = remove_leftovers(store)
    assert removed == len(leftovers)
    assert sorted(p.name for p in outputs.iterdir()) == ["image-being-written.png", "image-kept.png", "image-kept.png.json"]


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["not a database", "read-only", "newer schema"])
def test_the_app_refuses_to_start_with_one_line(tmp_path, damage):
    data = tmp_path / "data"
    data.mkdir()
    if damage == "not a database":
        (data / DB_NAME).write_bytes(b"garbage" * 1000)
    elif damage == "newer schema":
        _store_with_rows(data, 1)
        conn = sqlite3.connect(data / DB_NAME)
        conn.execute("PRAGMA user_version = 42")
        conn.commit()
        conn.close()
    elif subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(data)], capture_output=True).returncode:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        process = subprocess.run([sys.executable, "app.py", "--preset", "tiny", "--data-dir", str(data), "--port", "1"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        if damage == "read-only":
            subprocess.run(["umount", "-l", str(data)], check=False)
    assert process.returncode == 2, process.stderr[-2000:]
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[aigc] cannot start: "), process.stderr[-2000:]
    assert "Traceback" not in process.stderr


def test_system_status_carries_the_same_check(studio, tmp_path):
    status = studio.status()
    assert status["health"]["ok"] and set(status["health"]["checks"]) == {"data_dir", "disk", "database", "integrity", "schema"}
    assert str(tmp_path) not in json.dumps(status["health"])
    shutil.rmtree(tmp_path / "data" / "outputs")  # the check runs again each time: a vanished folder is made again
    assert studio.status()["health"]["checks"]["data_dir"]["ok"]
