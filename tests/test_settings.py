"""Settings: presets, environment and CLI overrides, auto's offline fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_demo.settings import PRESET_NAMES, from_args, from_env, load_presets, parse_auth


def test_presets_name_real_models():
    presets = load_presets()
    assert set(presets) == set(PRESET_NAMES) - {"auto"}
    assert presets["gpu"]["models"]["video"] == "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    assert presets["gpu"]["models"]["audio"] == "suno/bark-small"
    assert presets["offline"]["models"]["text"] == "offline:smollm2"
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


def test_auth_must_be_user_colon_password():
    assert parse_auth("a:b:c") == ("a", "b:c")
    with pytest.raises(ValueError):
        parse_auth("nocolon")
    with pytest.raises(SystemExit):
        from_args(["--preset", "nonsense"])


def test_weights_on_disk_counts_weight_files_of_a_local_model(tmp_path):
    from aigc_demo.settings import weights_on_disk

    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"x" * 1000)
    (tmp_path / "model.gguf").write_bytes(b"x" * 300)
    (tmp_path / "config.json").write_text("{}")
    assert weights_on_disk(str(tmp_path)) == 1300
    assert weights_on_disk(str(tmp_path / "model.gguf")) == 300
    assert weights_on_disk("no-such-org/no-such-model") == 0
