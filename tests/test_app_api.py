"""The public API through gradio_client, against `python app.py --preset tiny` on a free port."""

from __future__ import annotations

import json
import wave

import pytest
from PIL import Image

from conftest import output_path

pytestmark = pytest.mark.slow

SCENARIO_ENDPOINTS = ("/retail_copy", "/medical_report", "/film_script", "/maintenance_plan", "/market_brief", "/service_reply")


def test_endpoints_are_published(client):
    api = client.view_api(return_format="dict", print_info=False)
    names = set(api["named_endpoints"])
    expected = {"/generate_text", "/generate_image", "/generate_audio", "/generate_video", "/system_status", *SCENARIO_ENDPOINTS}
    assert expected <= names
    first = api["named_endpoints"]["/generate_image"]["parameters"][0]
    assert first["parameter_name"] == "prompt"
    assert all(p["parameter_has_default"] for p in api["named_endpoints"]["/generate_image"]["parameters"][1:])


def test_generate_text_streams_in_chunks(client):
    job = client.submit(prompt="Describe a bamboo water bottle.", max_new_tokens=12, seed=7, api_name="/generate_text")
    final = job.result(timeout=120)
    texts = [update[0] for update in job.outputs()]
    assert len([t for t in texts if t]) > 1, texts
    text, seed, details = final
    assert seed == 7 and details["seed"] == 7
    assert details["model"] == "tiny:text" and details["record_id"]
    assert text and texts[-1] == text


def test_generate_image_returns_png_at_size(client):
    gallery, seed, details = client.predict(prompt="a bamboo bottle", width=64, height=96, seed=3, api_name="/generate_image")
    assert seed == 3 and len(gallery) == 1
    with Image.open(output_path(gallery[0]["image"])) as image:
        assert image.size == (64, 96)
    assert any("noise" in note for note in details["notes"])


def test_generate_audio_returns_wav(client):
    audio, seed, details = client.predict(prompt="Welcome to our store.", seed=1, api_name="/generate_audio")
    with wave.open(str(output_path(audio))) as wav:
        assert wav.getnframes() > 0
    assert details["model"] == "tiny:audio"


def test_generate_video_returns_mp4_with_snapped_frames(client):
    video, seed, details = client.predict(prompt="waves", num_frames=6, width=64, height=64, api_name="/generate_video")
    assert output_path(video).suffix == ".mp4" and output_path(video).stat().st_size > 0
    assert details["params"]["num_frames"] == 5  # Wan needs 4k+1 frames


@pytest.mark.parametrize("endpoint", SCENARIO_ENDPOINTS)
def test_scenario_endpoints_work_with_no_arguments(client, endpoint):
    outputs = client.predict(api_name=endpoint)
    assert not [o for o in outputs if isinstance(o, dict) and o.get("__type__") == "update"], outputs
    statuses = [o for o in outputs if isinstance(o, str) and o.startswith("✅")]  # the status line
    assert len(statuses) == 1, outputs
    texts = [o for o in outputs[: outputs.index(statuses[0])] if isinstance(o, str) and o]
    assert texts, outputs


def test_medical_report_carries_the_disclaimer(client):
    outputs = client.predict(api_name="/medical_report")
    report = outputs[0]
    assert "clinician" in report.lower() or "医生" in report


def test_empty_prompt_is_a_clear_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="prompt"):
        client.predict(prompt="   ", api_name="/generate_image")


def test_system_status_reports_loaded_models(client):
    client.predict(prompt="warm up", max_new_tokens=2, api_name="/generate_text")
    status = client.predict(api_name="/system_status")
    if isinstance(status, str):
        status = json.loads(status)
    assert status["preset"] == "tiny"
    assert "text" in {m["key"] for m in status["loaded"]}
