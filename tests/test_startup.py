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
