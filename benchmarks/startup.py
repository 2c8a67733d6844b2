"""Start-up: time to first page and idle memory of the app vs a bare Gradio app with as many tabs.

    .venv/bin/python benchmarks/startup.py [--reps 5]

Target (issue 6): first page within 1.3x of the bare app, idle RSS within 1.3x, and no torch,
diffusers or transformers imported by building the app. The bare app mirrors the app's tab
tree (same nesting, same count) with one Markdown per tab; both launch with queue() on
127.0.0.1. Runs alternate app / bare so both see the same machine load; medians are printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import PYTHON, ROOT, child_env, free_port, header, median, report, rss_mb, stop, wait_for_page, workdir

HEAVY = ("torch", "diffusers", "transformers")

PROBE = """
import json, sys, tempfile
from aigc_demo.settings import preset_settings
from aigc_demo.studio import Studio
from aigc_demo.ui import build_app
import gradio as gr

work = tempfile.mkdtemp()
demo = build_app(Studio(preset_settings("tiny", data_dir=work + "/data", cache_dir=work + "/cache")))

def tree(block):
    # The nesting of gr.Tab blocks: a list with one entry (its own sub-tree) per tab.
    found = []
    for child in getattr(block, "children", []):
        if isinstance(child, gr.Tab):
            found.append(tree(child))
        else:
            found.extend(tree(child))
    return found

print(json.dumps({"heavy": [m for m in %r if m in sys.modules], "tree": tree(demo)}))
""" % (HEAVY,)

BARE_APP = """
import sys
import gradio as gr

TREE = %s

def render(tree, path=""):
    with gr.Tabs():
        for i, sub in enumerate(tree):
            with gr.Tab(f"Tab {path}{i}"):
                gr.Markdown(f"Content of tab {path}{i}")
                if sub:
                    render(sub, f"{path}{i}.")

with gr.Blocks(title="bare") as demo:
    render(TREE)
demo.queue()
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


def count(tree: list) -> int:
    return sum(1 + count(sub) for sub in tree)


def torch_mapped(pid: int) -> bool | None:
    """Whether libtorch is mapped into the process (Linux /proc), i.e. torch was imported."""
    maps = Path(f"/proc/{pid}/maps")
    return "libtorch" in maps.read_text() if maps.exists() else None


def start_once(command: list[str], port: int, log: Path, settle: float) -> tuple[float, float, bool | None]:
    """(seconds to first HTTP 200 on /, idle RSS in MiB ``settle`` s later, torch loaded then)."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            seconds = wait_for_page(f"http://127.0.0.1:{port}/", process)
            time.sleep(settle)
            return seconds, rss_mb(process.pid), torch_mapped(process.pid)
        except Exception:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds idle before reading RSS")
    args = parser.parse_args()
    header("start-up: python app.py --preset tiny vs a bare Gradio Blocks app with the same tabs")

    probe = subprocess.run([PYTHON, "-c", PROBE], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        sys.exit(f"building the app failed:\n{probe.stderr[-3000:]}")
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    report("heavy modules after build_app", ", ".join(info["heavy"]) or "none", note=f"checked: {', '.join(HEAVY)}")
    report("tabs", count(info["tree"]), note="same tree in the bare app")

    with workdir("aigc-startup-") as work:
        bare = work / "bare_app.py"
        bare.write_text(BARE_APP % json.dumps(info["tree"]))
        app_times, bare_times, app_rss, bare_rss, app_torch = [], [], [], [], []
        for rep in range(args.reps):
            for kind in ("app", "bare"):  # alternate so both see the same machine load
                port = free_port()
                if kind == "app":
                    command = [PYTHON, str(ROOT / "app.py"), "--preset", "tiny", "--port", str(port),
                               "--data-dir", str(work / "data"), "--cache-dir", str(work / "cache")]
                else:
                    command = [PYTHON, str(bare), str(port)]
                seconds, rss, torch_loaded = start_once(command, port, work / f"{kind}-{rep}.log", args.settle)
                if kind == "app":
                    app_torch.append(torch_loaded)
                (app_times if kind == "app" else bare_times).append(seconds)
                (app_rss if kind == "app" else bare_rss).append(rss)
                print(f"#   rep {rep + 1} {kind}: first page {seconds:.2f} s, idle RSS {rss:.0f} MiB", flush=True)

    if None not in app_torch:
        report("torch loaded in the serving app after its first page", "yes" if any(app_torch) else "no",
               note="libtorch in /proc/<pid>/maps")
    a, b = median(app_times), median(bare_times)
    report("first page, bare Gradio app", b, "s")
    report("first page, app (tiny preset)", a, "s", a / b, note="target <= 1.3 x")
    a, b = median(app_rss), median(bare_rss)
    report("idle RSS, bare Gradio app", b, "MiB")
    report("idle RSS, app (tiny preset)", a, "MiB", a / b, note="target <= 1.3 x")


if __name__ == "__main__":
    main()
