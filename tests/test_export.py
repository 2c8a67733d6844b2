"""Exports are safe to hand out: no spreadsheet formula runs, no server path is shown (issue 16, item 4)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from aigc_demo.record import ReviewStore
from aigc_demo.record.export import hide_paths, public_path, spreadsheet_safe

FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "  =cmd|' /C calc'!A0"]


@pytest.fixture
def store(tmp_path, database_url):
    """On each backend: SQLite in the data dir, then a PostgreSQL database."""
    with ReviewStore(tmp_path / "data", database_url=database_url) as opened:
        yield opened


@pytest.mark.parametrize("cell", FORMULAS)
def test_formula_cells_are_escaped(cell):
    assert spreadsheet_safe(cell) == "'" + cell
    assert spreadsheet_safe(3) == 3 and spreadsheet_safe(-2.5) == -2.5  # numbers stay numbers
    assert spreadsheet_safe("plain text = fine") == "plain text = fine"


def test_csv_export_has_no_cell_a_spreadsheet_would_run(store, tmp_path):
    ids = [store.add_record(modality="text", prompt=formula, output_text=formula, task=formula) for formula in FORMULAS]
    for record_id, formula in zip(ids, FORMULAS):
        store.submit_review(record_id, 4, tags=[formula.strip()[:40]], comment=formula, reviewer=formula.strip())  # via the store: any name
    csv_path, jsonl_path = store.export(tmp_path / "out")
    raw = csv_path.read_text(encoding="utf-8-sig")
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + len(FORMULAS)
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), (cell, row)
    assert raw.count("'=HYPERLINK") == 5  # prompt, task, output text, reviewer, comment
    assert raw.startswith('"modality","prompt"') and ',"4",' in raw  # every cell quoted, numbers too
    # the JSONL keeps the values exactly (it is data, not a sheet)
    prompts = {json.loads(line)["prompt"] for line in jsonl_path.read_text(encoding="utf-8").splitlines()}
    assert prompts == set(FORMULAS)


def test_exports_and_listings_hold_no_server_path(store, tmp_path):
    inside = store.outputs_dir / "image-1.png"
    outside = tmp_path / "elsewhere" / "image-2.png"
    outside.parent.mkdir()
    for path in (inside, outside):
        Image.new("RGB", (4, 4)).save(path)
    upload = tmp_path / "gradio" / "0123abcd" / "prices.csv"
    store.add_record(modality="image", file_paths=[str(inside), str(outside)], inputs={"prices": str(upload), "n": 3},
                     notes=[f"could not write {tmp_path}/data/outputs/x.mp4: disk full", "width 70 -> 72"])
    csv_path, jsonl_path = store.export(tmp_path / "out")
    for text in (csv_path.read_text(encoding="utf-8-sig"), jsonl_path.read_text(encoding="utf-8")):
        assert str(tmp_path) not in text and "/tmp" not in text
    item = json.loads(jsonl_path.read_text(encoding="utf-8"))
    assert item["file_paths"] == ["outputs/image-1.png", "image-2.png"]
    assert item["inputs"] == {"prices": "prices.csv", "n": 3}
    assert item["notes"] == ["could not write x.mp4: disk full", "width 70 -> 72"]


def test_path_helpers():
    assert public_path("outputs/a.png") == "outputs/a.png"
    assert public_path("/srv/app/data/outputs/a.png") == "a.png"
    assert public_path("C:\\data\\a.png") == "a.png"
    assert hide_paths("see /home/ann/x/y.txt and a/b, ratio 1/2") == "see y.txt and a/b, ratio 1/2"
    assert hide_paths("ffmpeg -i /tmp/gradio/abc/in.mp4 -y /data/outputs/.v.tmp.mp4") == "ffmpeg -i in.mp4 -y .v.tmp.mp4"


def test_listed_outputs_hold_no_server_path(make_studio, tmp_path):
    from aigc_demo.core.types import ImageRequest
    from aigc_demo.ui.review_tab import ReviewTab

    studio = make_studio()
    studio.run("image", ImageRequest("a cup", width=64, height=64, num_inference_steps=1, seed=1))
    rows = ReviewTab(studio, None, []).list_outputs()  # type: ignore[arg-type]
    assert rows and all(not Path(p).is_absolute() for row in rows for p in row["file_paths"])
    assert str(tmp_path) not in json.dumps(rows)


def test_export_leaves_no_folder_behind_and_gradio_deletes_its_copy(make_studio, tmp_path, monkeypatch):
    import tempfile

    import gradio as gr

    from aigc_demo.ui.app import CACHE_SECONDS, build_app
    from aigc_demo.ui.review_tab import ReviewTab

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    studio = make_studio()
    studio.store.add_record(modality="text", prompt="=1+1")
    tab = ReviewTab(studio, None, [])  # type: ignore[arg-type]
    tab._files = gr.File()
    for _ in range(3):
        paths = tab.export_reviews()
        assert [Path(p).suffix for p in paths] == [".csv", ".jsonl"] and all(Path(p).is_file() for p in paths)
    assert [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("aigc-export-")] == []
    assert all(p in tab._files.temp_files for p in paths)  # Gradio's copies, deleted on its schedule
    assert build_app(studio).delete_cache == (CACHE_SECONDS // 10, CACHE_SECONDS)
