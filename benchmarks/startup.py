"""Start-up: time to first page and idle memory of the app vs a bare Gradio app with as many tabs.

    .venv/bin/python benchmarks/startup.py [--reps 11]

Targets: first page within 1.1x of the bare app (issue 15; 1.3x in issue 6), idle RSS within
1.1x, and no torch, diffusers or transformers imported by building the app. The bare app mirrors
the app's tab tree (same nesting, same count) with one Markdown per tab; both launch with
queue() on 127.0.0.1. Runs alternate app / bare so both see the same machine load; medians are
printed. Both start from compiled bytecode, as every start after an app's first does: pip compiled
Gradio's modules when it installed them, and the app's are compiled here first (``compileall``,
into the ignored ``__pycache__``), which a PYTHONDONTWRITEBYTECODE in the environment would
otherwise leave to every start (~0.15 s for its ~100 modules on 2 cores). Besides wall time, the
server's CPU seconds to its first page are reported (steadier on a shared machine), and the time
to serve the page again (every later visit).
"""

from __future__ import annotations

import argparse
import compileall
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import PYTHON, ROOT, child_env, cpu_seconds, free_port, header, median, report, rss_mb, stop, wait_for_page, workdir

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


def page_ms(url: str, reps: int = 5) -> float:
    """Median milliseconds to fetch the page again (what every later visit costs the server)."""
    import urllib.request

    times = []
    for _ in range(reps):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
        times.append((time.perf_counter() - start) * 1000)
    return median(times)


def start_once(command: list[str], port: int, log: Path, settle: float) -> dict[str, Any]:
    """Seconds to first HTTP 200 on / (wall, and the server's CPU seconds by then), idle RSS in
    MiB ``settle`` s later, whether torch is loaded then, and a later page load in ms."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            seconds = wait_for_page(f"http://127.0.0.1:{port}/", process)
            cpu = cpu_seconds(process.pid)
            time.sleep(settle)
            rss, torch_loaded = rss_mb(process.pid), torch_mapped(process.pid)
            return {"wall": seconds, "cpu": cpu, "rss": rss, "torch": torch_loaded,
                    "page": page_ms(f"http://127.0.0.1:{port}/")}
        except Exception:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # A start moves by 0.5-1 s from run to run, in `import gradio` (both apps): with 7 reps the
    # medians' ratio still moved by +-0.07 (RESULTS.md, issue 15, round nine)
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds idle before reading RSS")
    parser.add_argument("--compare-root", type=Path, help="another checkout's app.py started the same way, "
                        "in the same rounds (before/after in one run)")
    args = parser.parse_args()
    header("start-up: python app.py --preset tiny vs a bare Gradio Blocks app with the same tabs")
    apps = {"app": ROOT, **({"before": args.compare_root.resolve()} if args.compare_root else {})}
    # app.py itself, a script, is never compiled
    compiled = all(compileall.compile_dir(str(root / "aigc_demo"), quiet=1) for root in apps.values())
    report("the app's modules compiled to bytecode first", "yes" if compiled else "NO (compileall failed)")

    probe = subprocess.run([PYTHON, "-c", PROBE], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        sys.exit(f"building the app failed:\n{probe.stderr[-3000:]}")
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    report("heavy modules after build_app", ", ".join(info["heavy"]) or "none", note=f"checked: {', '.join(HEAVY)}")
    report("tabs", count(info["tree"]), note="same tree in the bare app")

    with workdir("aigc-startup-") as work:
        bare = work / "bare_app.py"
        bare.write_text(BARE_APP % json.dumps(info["tree"]))
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in (*apps, "bare")}
        for rep in range(args.reps):
            for kind in runs:  # alternate so all see the same machine load
                port = free_port()
                if kind in apps:
                    command = [PYTHON, str(apps[kind] / "app.py"), "--preset", "tiny", "--port", str(port),
                               "--data-dir", str(work / kind / "data"), "--cache-dir", str(work / "cache")]
                else:
                    command = [PYTHON, str(bare), str(port)]
                run = start_once(command, port, work / f"{kind}-{rep}.log", args.settle)
                runs[kind].append(run)
                print(f"#   rep {rep + 1} {kind}: first page {run['wall']:.2f} s ({run['cpu']:.2f} CPU s), "
                      f"idle RSS {run['rss']:.0f} MiB, page again {run['page']:.0f} ms", flush=True)

    app_torch = [run["torch"] for run in runs["app"]]
    if None not in app_torch:
        report("torch loaded in the serving app after its first page", "yes" if any(app_torch) else "no",
               note="libtorch in /proc/<pid>/maps")
    for key, name, unit, note in (
        ("wall", "first page", "s", "target <= 1.1 x"),
        ("cpu", "CPU time to first page", "s", "the server's user + system seconds; steadier than wall time under load"),
        ("rss", "idle RSS", "MiB", "target <= 1.1 x"),
        ("page", "the page again (GET /)", "ms", "what every later visit costs the server"),
    ):
        b = median([r[key] for r in runs["bare"]])
        report(f"{name}, bare Gradio app", b, unit)
        for kind in apps:
            a = median([r[key] for r in runs[kind]])
            report(f"{name}, {'app' if kind == 'app' else 'app before'} (tiny preset)", a, unit, a / b, note=note)


if __name__ == "__main__":
    main()
