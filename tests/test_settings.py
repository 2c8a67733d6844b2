"""Settings: presets, environment and CLI overrides, auto's offline fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_demo.settings import PRESET_NAMES, from_args, from_env, load_presets, parse_auth


def test_presets_name_real_models():
    presets = load_presets()
    assert set(presets) == set(PRESET_NAMES) - {"auto"}
    assert presets["gpu"]["models"]["video"] == "diffusers:Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    assert presets["gpu"]["models"]["audio"] == "bark:suno/bark-small"
    assert presets["offline"]["models"]["text"] == ["gguf:qwen2.5-coder-0.5b-instruct", "offline:smollm2"]
    assert presets["offline"]["models"]["audio"] == "piper:en_US-joe-medium"
    assert all(m.startswith("tiny:") for m in presets["tiny"]["models"].values())


def test_cpu_preset_says_video_needs_a_gpu():
    settings = from_env({"AIGC_PRESET": "cpu"})
    assert settings.model_for("video") is None
    assert "GPU" in settings.unavailable["video"]


def test_environment_overrides_every_value(tmp_path):
    env = {
        "AIGC_PRESET": "tiny",
        "AIGC_TEXT_MODEL": "/models/qwen",
        "AIGC_IMAGE_MODEL": "org/image",
        "AIGC_AUDIO_MODEL": "org/audio",
        "AIGC_VIDEO_MODEL": "org/video",
        "AIGC_DEVICE": "cpu",
        "AIGC_DATA_DIR": str(tmp_path),
        "AIGC_MEMORY_BUDGET_GB": "3.5",
        "AIGC_IDLE_UNLOAD_SECONDS": "42",
        "AIGC_AUTH": "ann:secret",
    }
    settings = from_env(env)
    assert dict(settings.models) == {"text": "/models/qwen", "image": "org/image", "audio": "org/audio", "video": "org/video"}
    assert settings.device == "cpu" and settings.data_dir == Path(tmp_path)
    assert settings.memory_budget_gb == 3.5 and settings.idle_unload_seconds == 42
    assert settings.auth == ("ann", "secret")


def test_cli_flags_win_over_environment():
    settings = from_args(["--preset", "tiny", "--port", "9000", "--video-model", "local/wan"], env={"AIGC_PRESET": "cpu", "AIGC_PORT": "1"})
    assert settings.preset == "tiny" and settings.port == 9000
    assert settings.model_for("video") == "local/wan"


def test_video_model_override_makes_cpu_video_available():
    settings = from_env({"AIGC_PRESET": "cpu", "AIGC_VIDEO_MODEL": "org/video"})
    assert settings.model_for("video") == "org/video" and "video" not in settings.unavailable


def test_auto_falls_back_to_offline_without_hub_and_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # this machine cannot reach the Hub anyway
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    settings = from_env({})
    assert settings.preset == "offline"
    assert any("offline" in note and "unreachable" in note for note in settings.notes)


@pytest.mark.parametrize(("variable", "ref", "message"), [
    ("AIGC_TEXT_MODEL", "vllm:qwen", "unknown backend 'vllm' for text; known: gguf, hf-inference, offline, openai, tiny, transformers"),
    ("AIGC_IMAGE_MODEL", "bark:suno/bark-small", "the 'bark' backend makes audio, not image"),
    ("AIGC_AUDIO_MODEL", "tiny:video", "the tiny audio model is 'tiny:audio'"),
    ("AIGC_TEXT_MODEL", "offline:llama", "serves 'offline:smollm2' only"),
    ("AIGC_VIDEO_MODEL", "diffusers:", "no model name after 'diffusers:'"),
])
def test_model_references_are_checked_at_start_up(variable, ref, message):
    with pytest.raises(ValueError, match=variable) as caught:
        from_env({"AIGC_PRESET": "tiny", variable: ref})
    assert message in str(caught.value)


def test_references_without_a_backend_use_the_modality_default(tmp_path):
    from aigc_demo.backends import parse_ref

    assert parse_ref("image", "stabilityai/sd-turbo").scheme == "diffusers"
    assert parse_ref("audio", "suno/bark-small").scheme == "bark"
    assert parse_ref("text", str(tmp_path / "model.gguf")).scheme == "transformers"
    assert parse_ref("text", "transformers:Qwen/Qwen2.5-0.5B-Instruct").name == "Qwen/Qwen2.5-0.5B-Instruct"


def test_preset_values_are_checked_against_the_parameter_declarations():
    from aigc_demo.core.params import PARAMS

    with pytest.raises(ValueError, match="width: must be between 64 and 2048"):
        PARAMS["image"].check_limits("presets.yaml: cpu.scenario_limits.image", {"width": 9000})
    with pytest.raises(ValueError, match="unknown parameter 'steps'"):
        PARAMS["image"].check_limits("presets.yaml: cpu.defaults.image", {"steps": 2})


def test_auto_uses_a_filled_cache_without_the_hub(monkeypatch, tmp_path, tiny_model):
    """An air-gapped site copies a filled Hugging Face cache: auto then keeps the real preset."""
    import huggingface_hub.constants as constants

    from aigc_demo.settings import preset_settings

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("aigc_demo.settings.has_cuda", lambda: False)
    for modality, ref in preset_settings("cpu").models.items():
        if not ref:
            continue
        name = ref.partition(":")[2]
        repo, filename = name.rsplit("/", 1) if name.endswith(".gguf") else (name, "")
        snapshot = tmp_path / ("models--" + repo.replace("/", "--")) / "snapshots" / "0123abc"
        snapshot.parent.mkdir(parents=True)
        if filename:  # one file of a GGUF repo, as hf_hub_download leaves it
            snapshot.mkdir()
            (snapshot / filename).write_bytes(b"GGUF")
            (snapshot.parent.parent / "refs").mkdir()
            (snapshot.parent.parent / "refs" / "main").write_text("0123abc")
        else:
            snapshot.symlink_to(tiny_model(modality))
    settings = from_env({})
    assert settings.preset == "cpu" and not settings.notes


def test_a_preset_list_takes_the_first_model_whose_engine_is_installed(monkeypatch):
    from aigc_demo.backends.llamacpp_text import LlamaCppText
    from aigc_demo.settings import preset_settings

    monkeypatch.setattr(LlamaCppText, "missing", lambda self: "llama-cpp-python (bash scripts/install.sh builds it)")
    settings = preset_settings("cpu")
    assert settings.models["text"] == "transformers:Qwen/Qwen2.5-0.5B-Instruct"
    assert any("needs llama-cpp-python" in note for note in settings.notes)
    monkeypatch.undo()
    import importlib.util

    if importlib.util.find_spec("llama_cpp"):
        assert preset_settings("cpu").models["text"].startswith("gguf:")


def test_auth_must_be_user_colon_password():
    assert parse_auth("a:b:c") == ("a", "b:c")
    with pytest.raises(ValueError):
        parse_auth("nocolon")
    with pytest.raises(SystemExit):
        from_args(["--preset", "nonsense"])


def test_weights_on_disk_counts_weight_files_of_a_local_model(tmp_path):
    from aigc_demo.backends.hub import weights_on_disk

    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"x" * 1000)
    (tmp_path / "model.gguf").write_bytes(b"x" * 300)
    (tmp_path / "config.json").write_text("{}")
    assert weights_on_disk(str(tmp_path)) == 1300
    assert weights_on_disk(str(tmp_path / "model.gguf")) == 300
    assert weights_on_disk("no-such-org/no-such-model") == 0


# ---------------------------------------------------------------- every setting checked (issue 16, item 7)

BAD_SETTINGS = [  # (variable, value, what the one line says)
    ("AIGC_RUN_TIMEOUT_SECONDS", "nan", "must be a finite number"),
    ("AIGC_RUN_TIMEOUT_SECONDS", "inf", "must be a finite number"),
    ("AIGC_RUN_TIMEOUT_SECONDS", "-5", "greater than 0"),
    ("AIGC_IDLE_UNLOAD_SECONDS", "1e999", "must be a finite number"),
    ("AIGC_IDLE_UNLOAD_SECONDS", "-1", "at least 0"),
    ("AIGC_FAILURE_COOLDOWN_SECONDS", "NaN", "must be a finite number"),
    ("AIGC_MEMORY_BUDGET_GB", "0", "greater than 0"),
    ("AIGC_MEMORY_BUDGET_GB", "-inf", "must be a finite number"),
    ("AIGC_PORT", "99999", "at most 65535"),
    ("AIGC_PORT", "0", "at least 1"),
    ("AIGC_PORT", "80.5", "must be a whole number"),
    ("AIGC_PORT", "http", "must be a whole number"),
    ("AIGC_THREADS", "0", "at least 1"),
    ("AIGC_THREADS", "2.5", "must be a whole number"),
    ("AIGC_QUEUE_SIZE", "1e9", "at most 10000"),
    ("AIGC_MAX_PROMPT_CHARS", "999999", "at most 4000"),
    ("AIGC_USER_QUEUE_LIMIT", "0", "at least 1"),
    ("AIGC_MAX_UPLOAD_MB", "0", "greater than 0"),
    ("AIGC_MIN_FREE_DISK_MB", "lots", "must be a number"),
    ("AIGC_DEVICE", "tpu", "must be one of auto, cuda, mps, cpu"),
    ("AIGC_DTYPE", "float8", "must be one of auto, float32"),
    ("AIGC_SHARE", "maybe", "must be one of 1, true"),
    ("AIGC_ALLOW_PUBLIC_SHARE", "sure", "must be one of 1, true"),
    ("AIGC_HOST", " ", "must be a host name"),
]


@pytest.mark.parametrize(("variable", "value", "message"), BAD_SETTINGS)
def test_every_bad_setting_is_refused_naming_it(variable, value, message):
    with pytest.raises(ValueError) as caught:
        from_env({"AIGC_PRESET": "tiny", variable: value})
    assert str(caught.value).startswith(variable) and message in str(caught.value)
    assert repr(value) in str(caught.value)


def test_settings_made_in_code_obey_the_same_rules():
    from aigc_demo.settings import preset_settings

    with pytest.raises(ValueError, match="AIGC_RUN_TIMEOUT_SECONDS must be a finite number"):
        preset_settings("tiny", run_timeout_seconds=float("nan"))
    with pytest.raises(ValueError, match="AIGC_DEVICE"):
        preset_settings("tiny", device="gpu0")


def test_good_settings_and_off_values_are_accepted():
    settings = from_env({"AIGC_PRESET": "tiny", "AIGC_RUN_TIMEOUT_SECONDS": "0", "AIGC_IDLE_UNLOAD_SECONDS": "0",
                         "AIGC_PORT": "8080", "AIGC_DEVICE": "CPU", "AIGC_SHARE": "no", "AIGC_THREADS": "2.0"})
    assert settings.run_timeout_seconds is None and settings.idle_unload_seconds == 0
    assert (settings.port, settings.device, settings.share, settings.threads) == (8080, "cpu", False, 2)


@pytest.mark.slow
@pytest.mark.parametrize(("variable", "value"), [("AIGC_RUN_TIMEOUT_SECONDS", "nan"), ("AIGC_PORT", "99999"),
                                                 ("AIGC_DEVICE", "tpu")])
def test_the_app_refuses_to_start_with_one_line(variable, value, tmp_path):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", variable: value}
    process = subprocess.run([sys.executable, "app.py", "--preset", "tiny", "--data-dir", str(tmp_path / "data")],
                             cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert process.returncode == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"[aigc] configuration error: {variable}"), process.stderr
    assert "Traceback" not in process.stderr
