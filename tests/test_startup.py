"""Start-up imports no model library: a behaviour test (which modules are loaded), no timings.

Each check runs in a fresh interpreter, so modules imported by other tests cannot leak in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "diffusers", "transformers")

BUILD_APP = """
import json, sys
from pathlib import Path
from aigc_demo.settings import preset_settings
from aigc_demo.studio import Studio
from aigc_demo.ui import build_app, launch_kwargs

work = Path(sys.argv[1])
settings = preset_settings("tiny", data_dir=work / "data", cache_dir=work / "cache")
studio = Studio(settings)
demo = build_app(studio)
launch_kwargs(settings, demo)  # everything app.py does before launch()
print(json.dumps({"heavy": [m for m in %r if m in sys.modules], "blocks": len(demo.blocks)}))
""" % (HEAVY,)

APP_HELP = """
import json, runpy, sys
sys.argv = ["app.py", "--help"]
try:
    runpy.run_path("app.py", run_name="__main__")
except SystemExit as exit:
    code = exit.code
else:
    code = None
print(json.dumps({"code": code, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)

APP_START = """
import gc, json, runpy, sys
import gradio as gr
seen = {}

def launch(self, **kwargs):  # what app.py hands Gradio, instead of serving
    seen.update(frozen=gc.get_freeze_count(), blocks=len(self.blocks),
                middleware=[m.cls.__name__ for m in kwargs["app_kwargs"]["middleware"]])

gr.Blocks.launch = launch
sys.argv = ["app.py", "--preset", "tiny", "--data-dir", sys.argv[1] + "/data", "--cache-dir", sys.argv[1] + "/cache"]
try:
    runpy.run_path("app.py", run_name="__main__")
except SystemExit as exit:
    seen["code"] = exit.code
print(json.dumps(seen))
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )


def _last_json(process: subprocess.CompletedProcess) -> dict:
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_building_the_app_imports_no_model_library(tmp_path):
    info = _last_json(_run(BUILD_APP, str(tmp_path)))
    assert info["blocks"] > 0  # the app really was built
    assert info["heavy"] == [], f"imported while building the app: {info['heavy']}"
    assert not (tmp_path / "cache").exists(), "no tiny model is built before the first request"


def test_app_help_imports_no_model_library():
    process = _run(APP_HELP)
    info = _last_json(process)
    assert info["code"] in (0, None)
    assert "--preset" in process.stdout
    assert info["heavy"] == [], f"imported by app.py --help: {info['heavy']}"


def test_app_py_freezes_the_libraries_objects_and_serves_the_page_made_once(tmp_path):
    info = _last_json(_run(APP_START, str(tmp_path)))
    assert info["code"] == 0 and info["blocks"] > 0
    # gc.freeze() before the build: full collections (one in the build, one in launch(), ~0.1 s
    # each) skip the imported libraries' objects, which stay for the process's life anyway.
    assert info["frozen"] > 50_000
    assert info["middleware"][0] == "PageCache"
