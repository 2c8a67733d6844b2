"""Bad input never crashes and always explains: every public endpoint, every kind of bad value.

Two levels: the Studio (fast, no app) checks that nothing invalid reaches a model; the
launched app (gradio_client) checks that the same values sent through the API come back as
one clear message naming the field and its allowed range, and that no model was loaded.
"""

from __future__ import annotations

import json
import math

import pytest

from aigc_demo.core.types import AudioRequest, ImageRequest, TextRequest, ValidationError, VideoRequest
from aigc_demo.settings import from_env
from aigc_demo.studio import RunContext, Studio

MAX_SEED = 2**32 - 1
MIXED = "Bamboo bottle 竹子水杯 бамбук ไม้ไผ่ بامبو 🎍🌿 — ½ price!"


# ---------------------------------------------------------------- Studio level

# (modality, request, field named in the message, text the message must contain)
BAD_REQUESTS = [
    ("text", TextRequest(""), "prompt", "empty"),
    ("text", TextRequest(" \n\t "), "prompt", "empty"),
    ("text", TextRequest("\x00\x07\x1b\u200b"), "prompt", "empty"),  # control characters only
    ("text", TextRequest("x" * 4001), "prompt", "limit is 4000"),
    ("text", TextRequest(None), "prompt", "must be text"),  # type: ignore[arg-type]
    ("text", TextRequest(["a list"]), "prompt", "must be text"),  # type: ignore[arg-type]
    ("text", TextRequest("hi", max_new_tokens=0), "max_new_tokens", "between 1 and 4096"),
    ("text", TextRequest("hi", max_new_tokens=10**9), "max_new_tokens", "between 1 and 4096"),
    ("text", TextRequest("hi", temperature="hot"), "temperature", "between 0.0 and 2.0"),  # type: ignore[arg-type]
    ("text", TextRequest("hi", temperature=math.nan), "temperature", "finite"),
    ("text", TextRequest("hi", top_p=[0.5]), "top_p", "single number"),  # type: ignore[arg-type]
    ("text", TextRequest("hi", system_prompt=7), "system_prompt", "must be text"),  # type: ignore[arg-type]
    ("image", ImageRequest("a", width=5000), "width", "between 64 and 2048"),
    ("image", ImageRequest("a", height=8), "height", "between 64 and 2048"),
    ("image", ImageRequest("a", width=math.inf), "width", "finite"),
    ("image", ImageRequest("a", num_inference_steps=-3), "num_inference_steps", "between 1 and 150"),
    ("image", ImageRequest("a", num_inference_steps=10**6), "num_inference_steps", "between 1 and 150"),
    ("image", ImageRequest("a", num_images=9), "num_images", "between 1 and 4"),
    ("image", ImageRequest("a", guidance_scale=-1), "guidance_scale", "between 0.0 and 30.0"),
    ("image", ImageRequest("a", seed=MAX_SEED + 1), "seed", f"between -1 and {MAX_SEED}"),
    ("image", ImageRequest("a", seed=-2), "seed", f"between -1 and {MAX_SEED}"),
    ("image", ImageRequest("a", seed=True), "seed", f"between -1 and {MAX_SEED}"),  # type: ignore[arg-type]
    ("image", ImageRequest("a", negative_prompt=["x"]), "negative_prompt", "must be text"),  # type: ignore[arg-type]
    ("audio", AudioRequest("hi", voice_preset="v9/klingon_speaker_99"), "voice_preset", "v2/<lang>_speaker_<0-9>"),
    ("audio", AudioRequest("hi", voice_preset=3), "voice_preset", "must be text"),  # type: ignore[arg-type]
    ("audio", AudioRequest("x" * 2500), "prompt", "limit is 2000"),
    ("video", VideoRequest("w", num_frames=0), "num_frames", "between 1 and 161"),
    ("video", VideoRequest("w", num_frames=10_000), "num_frames", "between 1 and 161"),
    ("video", VideoRequest("w", width=4096), "width", "between 64 and 1280"),
    ("video", VideoRequest("w", fps=0), "fps", "between 1 and 60"),
    ("video", VideoRequest("w", num_inference_steps="many"), "num_inference_steps", "between 1 and 100"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("modality", "request_", "field", "expected"), BAD_REQUESTS,
                         ids=[f"{m}-{f}-{i}" for i, (m, _, f, _) in enumerate(BAD_REQUESTS)])
def test_bad_values_are_refused_by_name_before_any_model_loads(studio, modality, request_, field, expected):
    with pytest.raises(ValidationError) as caught:
        studio.run(modality, request_)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and expected in str(caught.value)
    assert studio.manager.load_count == {} and studio.manager.status()["loaded"] == []
    assert studio.store.list_outputs() == []  # nothing recorded either


def test_streamed_text_validates_before_loading(studio):
    with pytest.raises(ValidationError, match="max_new_tokens"):
        next(studio.stream("text", TextRequest("hi", max_new_tokens=-1)))
    assert studio.manager.load_count == {}


def test_prompt_limit_comes_from_settings(tmp_path, tiny_cache):
    settings = from_env({"AIGC_PRESET": "tiny", "AIGC_MAX_PROMPT_CHARS": "50", "AIGC_DATA_DIR": str(tmp_path)})
    assert settings.max_prompt_chars == 50
    studio = Studio(settings)
    with pytest.raises(ValidationError, match="prompt: is 51 characters; the limit is 50"):
        studio.prepare("image", ImageRequest("y" * 51))
    studio.prepare("image", ImageRequest("y" * 50))  # exactly at the limit is fine


def test_bad_settings_are_explained():
    with pytest.raises(ValueError, match="AIGC_MAX_PROMPT_CHARS must be a whole number"):
        from_env({"AIGC_PRESET": "tiny", "AIGC_MAX_PROMPT_CHARS": "lots"})
    with pytest.raises(ValueError, match="AIGC_QUEUE_SIZE must be at least 1"):
        from_env({"AIGC_PRESET": "tiny", "AIGC_QUEUE_SIZE": "0"})
    with pytest.raises(ValueError, match="AIGC_MAX_PROMPT_CHARS must be at least 1 and at most 4000"):
        from_env({"AIGC_PRESET": "tiny", "AIGC_MAX_PROMPT_CHARS": "999999"})


def test_values_sent_as_text_or_floats_are_coerced_without_notes(studio):
    request, notes = studio.prepare("image", ImageRequest("a", width="64", height=64.0, num_inference_steps="2", seed="5"))  # type: ignore[arg-type]
    assert (request.width, request.height, request.num_inference_steps, request.seed) == (64, 64, 2, 5)
    assert notes == []


def test_sizes_off_the_block_are_snapped_and_say_so(studio):
    image, notes = studio.prepare("image", ImageRequest("a", width=70, height=99))
    assert (image.width, image.height) == (72, 96)
    assert any(n.startswith("width 70 -> 72") for n in notes) and any(n.startswith("height 99 -> 96") for n in notes)
    video, notes = studio.prepare("video", VideoRequest("w", width=70, height=64))
    assert video.width % 16 == 0 and any(n.startswith(f"width 70 -> {video.width}") for n in notes)


def test_control_characters_are_removed_and_the_rest_is_kept(studio):
    request, _ = studio.prepare("text", TextRequest("Hello\x00 \x1b[31mworld\u200b\x7f\tok\n"))
    assert request.prompt == "Hello [31mworld\tok"


@pytest.mark.parametrize(
    ("modality", "request_"),
    [
        ("text", TextRequest(MIXED, max_new_tokens=4, seed=1)),
        ("image", ImageRequest(MIXED, negative_prompt="模糊 🙈", width=64, height=64, num_inference_steps=1, seed=1)),
        ("audio", AudioRequest(MIXED, voice_preset="v2/zh_speaker_1", seed=1)),
        ("video", VideoRequest(MIXED, width=64, height=64, num_frames=5, num_inference_steps=1, seed=1)),
    ],
    ids=["text", "image", "audio", "video"],
)
def test_mixed_scripts_and_emoji_work_in_every_modality(studio, modality, request_):
    result = studio.run(modality, request_, context=RunContext("playground", modality, "s"))
    assert result.params["prompt"] == MIXED and not result.cancelled
    assert studio.store.get_record(result.record_id).prompt == MIXED
    assert result.files or result.text is not None


# ---------------------------------------------------------------- the launched app

# (endpoint, arguments, field, text the message must contain)
API_CASES = [
    ("/generate_text", {"prompt": "   "}, "prompt", "empty"),
    ("/generate_text", {"prompt": "x" * 4001}, "prompt", "limit is 4000"),
    ("/generate_text", {"prompt": None}, "prompt", "must be text"),
    ("/generate_text", {"prompt": ["a", "list"]}, "prompt", "must be text"),
    ("/generate_text", {"prompt": "hi", "max_new_tokens": 10**9}, "max_new_tokens", "between 1 and 4096"),
    ("/generate_text", {"prompt": "hi", "temperature": "hot"}, "temperature", "between 0.0 and 2.0"),
    ("/generate_text", {"prompt": "hi", "top_p": None}, "top_p", "between 0.05 and 1.0"),
    ("/generate_image", {"prompt": "\x00\x01\x02"}, "prompt", "empty"),
    ("/generate_image", {"prompt": "a", "width": 5000}, "width", "between 64 and 2048"),
    ("/generate_image", {"prompt": "a", "width": "wide"}, "width", "between 64 and 2048"),
    ("/generate_image", {"prompt": "a", "height": [64, 64]}, "height", "single number"),
    ("/generate_image", {"prompt": "a", "num_inference_steps": -3}, "num_inference_steps", "between 1 and 150"),
    ("/generate_image", {"prompt": "a", "seed": 2**40}, "seed", f"between -1 and {MAX_SEED}"),
    ("/generate_image", {"prompt": "a", "seed": -7}, "seed", f"between -1 and {MAX_SEED}"),
    ("/generate_image", {"prompt": "a", "num_images": 50}, "num_images", "between 1 and 4"),
    ("/generate_audio", {"prompt": "hi", "voice_preset": "robot"}, "voice_preset", "v2/<lang>_speaker_<0-9>"),
    ("/generate_audio", {"prompt": "hi", "seed": "abc"}, "seed", f"between -1 and {MAX_SEED}"),
    ("/generate_video", {"prompt": "w", "num_frames": 1000}, "num_frames", "between 1 and 161"),
    ("/generate_video", {"prompt": "w", "num_frames": -1}, "num_frames", "between 1 and 161"),
    ("/generate_video", {"prompt": "w", "fps": 0}, "fps", "between 1 and 60"),
    ("/generate_video", {"prompt": "w", "width": 4096}, "width", "between 64 and 1280"),
    ("/retail_copy", {"seed": -5}, "seed", f"between -1 and {MAX_SEED}"),
    ("/medical_report", {"seed": "abc"}, "seed", f"between -1 and {MAX_SEED}"),
    ("/medical_report", {"age": 500}, "age", "between 0 and 120"),
    ("/medical_report", {"exam_type": "telepathy"}, "exam_type", "must be one of"),
    ("/film_script", {"seed": 2**33}, "seed", f"between -1 and {MAX_SEED}"),
    ("/submit_review", {"record_id": "nope", "rating": "abc"}, "rating", "1..5"),
    ("/submit_review", {"record_id": "nope", "rating": 3}, "record_id", "no output"),
    ("/list_outputs", {"limit": "abc"}, "limit", "between 1 and 10000"),
    ("/list_outputs", {"min_rating": 9}, "min_rating", "between 0 and 5"),
    ("/list_outputs", {"since": "yesterday"}, "since", "YYYY-MM-DD"),
]


def _status(client) -> dict:
    status = client.predict(api_name="/system_status")
    return json.loads(status) if isinstance(status, str) else status


@pytest.mark.slow
def test_bad_api_values_are_explained_and_load_nothing(client):
    from gradio_client.exceptions import AppError

    client.predict(api_name="/unload_all")
    before = _status(client)["load_count"]
    problems = []
    for endpoint, arguments, field, expected in API_CASES:
        try:
            client.predict(api_name=endpoint, **arguments)
        except AppError as error:
            message = str(error)
            if field not in message or expected not in message:
                problems.append(f"{endpoint} {list(arguments)}: {message[:200]}")
        else:
            problems.append(f"{endpoint} {list(arguments)}: accepted")
    assert problems == []
    status = _status(client)
    assert status["loaded"] == [] and status["load_count"] == before


@pytest.mark.slow
def test_api_accepts_mixed_scripts_and_reports_snapped_sizes(client):
    text, _, details = client.predict(prompt=MIXED, max_new_tokens=4, api_name="/generate_text")
    assert details["params"]["prompt"] == MIXED and isinstance(text, str)
    _, _, details = client.predict(prompt=MIXED, width=70, height=64, num_inference_steps=1, api_name="/generate_image")
    assert details["params"]["prompt"] == MIXED and details["params"]["width"] == 72
    assert any(note.startswith("width 70 -> 72") for note in details["notes"])
    audio, _, details = client.predict(prompt=MIXED, voice_preset="", api_name="/generate_audio")
    assert details["params"]["prompt"] == MIXED and audio
    _, _, details = client.predict(prompt=MIXED, width=70, height=64, num_frames=6, num_inference_steps=1,
                                   api_name="/generate_video")
    assert details["params"]["num_frames"] == 5 and details["params"]["width"] % 16 == 0


@pytest.mark.slow
def test_malformed_uploads_are_explained(client, tmp_path):
    """Every endpoint that takes a file gets garbage bytes and must explain, naming the input."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    targets = [(name, p["parameter_name"]) for name, info in api.items() for p in info["parameters"]
               if "filepath" in json.dumps([p.get("type"), p.get("python_type")]).lower()]
    if not targets:
        pytest.skip("no public endpoint takes an uploaded file")
    files = {
        "binary.csv": b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage ,,,\"\n",
        "empty.csv": b"",
        "not-numbers.csv": b"date,close\n2026-01-02,abc\nnot a date,5\n",
        "program.exe": b"MZ\x90\x00",
    }
    for endpoint, parameter in targets:
        for name, content in files.items():
            (tmp_path / name).write_bytes(content)
            with pytest.raises(AppError) as caught:
                client.predict(api_name=endpoint, **{parameter: handle_file(str(tmp_path / name))})
            assert str(caught.value).startswith(f"{parameter}: "), (endpoint, name, str(caught.value))
