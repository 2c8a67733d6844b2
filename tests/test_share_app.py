"""The launched app: /download_run gives a run's zip; bad run ids get a clear bilingual message."""

from __future__ import annotations

import json
import zipfile
from pathlib import PurePosixPath

import pytest

from conftest import output_path

pytestmark = pytest.mark.slow


def test_download_run_returns_every_output_of_the_run_with_sidecars_and_summary(client):
    client.predict(api_name="/medical_report")
    rows = client.predict(scenario="medical", limit=20, api_name="/list_outputs")
    run_id = rows[0]["run_id"]
    run_rows = [r for r in rows if r["run_id"] == run_id]
    assert {r["modality"] for r in run_rows} >= {"text", "audio"}  # one run, several outputs

    path = output_path(client.predict(run_id=run_id, api_name="/download_run"))
    assert path.suffix == ".zip"
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        files = [PurePosixPath(p).name for r in run_rows for p in r["file_paths"]]
        assert files and all(f"outputs/{f}" in names and f"outputs/{f}.json" in names for f in files)
        data = json.loads(archive.read("run.json"))
        page = archive.read("index.html").decode("utf-8")
    assert sorted(item["id"] for item in data) == sorted(r["id"] for r in run_rows)
    assert "<audio controls" in page and run_id in page


@pytest.mark.parametrize(("run_id", "message"), [
    ("../../reviews.sqlite3", "is not a run id"),
    ("0" * 32, "No run with id"),
])
def test_a_bad_run_id_is_refused_with_a_message_in_both_languages(client, run_id, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message) as error:
        client.predict(run_id=run_id, api_name="/download_run")
    assert "运行" in str(error.value)
