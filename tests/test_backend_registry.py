"""Adding a backend is one module plus one registry line: the studio, the manager, settings,
the UI and the records never name a backend. This test does exactly that with a small real
backend written to a temporary module, then runs it through every layer."""

from __future__ import annotations

import sys
import textwrap

import pytest

from aigc_demo import backends
from aigc_demo.core.types import GenerationResult, TextRequest
from aigc_demo.settings import from_env
from aigc_demo.studio import Studio

ECHO_MODULE = '''
"""A text backend that answers with the prompt's words in reverse order."""
from aigc_demo.backends.base import Backend
from aigc_demo.core.params import TEXT_PARAMS
from aigc_demo.core.types import GenerationResult, request_params


class ReverseText(Backend):
    modality = "text"
    scheme = "reverse"
    params = TEXT_PARAMS

    def load(self, device, dtype):
        return {"separator": self.name}

    def stream(self, model, request, *, progress=None, cancel=None, out_dir=None):
        words, text = request.prompt.split()[::-1], ""
        for word in words[: request.max_new_tokens]:
            text = f"{text}{model['separator'] if text else ''}{word}"
            yield text
        yield GenerationResult("text", self.name, request.seed, request_params(request), text=text)
'''


@pytest.fixture()
def reverse_backend(tmp_path, monkeypatch):
    (tmp_path / "reverse_backend.py").write_text(textwrap.dedent(ECHO_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(backends.REGISTRY, ("text", "reverse"), "reverse_backend:ReverseText")  # the one line
    yield
    sys.modules.pop("reverse_backend", None)


def test_a_new_backend_runs_through_settings_studio_manager_and_records(reverse_backend, tmp_path):
    settings = from_env({"AIGC_PRESET": "tiny", "AIGC_TEXT_MODEL": "reverse:-", "AIGC_DATA_DIR": str(tmp_path)})
    studio = Studio(settings)
    updates = list(studio.stream("text", TextRequest("one two three", seed=5)))
    result = updates[-1]
    assert updates[:-1] == ["three", "three-two", "three-two-one"]
    assert isinstance(result, GenerationResult) and result.text == "three-two-one"
    assert result.model_ref == "reverse:-" and studio.manager.load_count == {"text": 1}
    record = studio.store.get_record(result.record_id)
    assert record.model_ref == "reverse:-" and record.output_text == "three-two-one"


def test_the_ui_builds_with_the_new_backend(reverse_backend, tmp_path):
    from aigc_demo.ui import build_app

    studio = Studio(from_env({"AIGC_PRESET": "tiny", "AIGC_TEXT_MODEL": "reverse:+", "AIGC_DATA_DIR": str(tmp_path)}))
    demo = build_app(studio)
    assert "/generate_text" in demo.get_api_info()["named_endpoints"]


def test_registry_modules_and_classes_agree():
    for (modality, scheme), target in backends.REGISTRY.items():
        cls = backends.backend_class(modality, f"{scheme}:{modality}" if scheme == "tiny" else f"{scheme}:x")
        assert (cls.modality, cls.scheme) == (modality, scheme), target
        assert cls.params.request_type.__name__.lower().startswith(modality)
    assert set(backends.DEFAULT_SCHEME) == {"text", "image", "audio", "video"}
