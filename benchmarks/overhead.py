"""Overhead per request: the raw library call vs the studio vs the HTTP API, on tiny models.

    .venv/bin/python benchmarks/overhead.py [--reps 15] [--modalities text,image,audio,video]

Per modality, side by side and interleaved (raw, studio, HTTP, raw, ...):

(a) raw: the library call a minimal script would make on the *same loaded model object* the
    studio uses (tokenize + ``model.generate`` + decode; ``pipe(...)``; processor +
    ``BarkModel.generate``), same parameters and seed, output kept in memory;
(b) studio: ``Studio.run`` in-process: validation, generator, file writing, provenance, SQLite
    record (text goes through the streaming path, as in the app);
(c) HTTP: ``gradio_client`` ``predict`` against ``python app.py --preset tiny`` launched on
    127.0.0.1 with the same model folders (the client downloads the output file, as a user would);
(d) HTTP the same request through Gradio's REST API (POST /gradio_api/call, read the SSE stream,
    download the file) with httpx.

The floor of (c) and (d) is measured first: a no-op endpoint of a bare Gradio app. gradio_client
polls its message queue every 50 ms (gradio_client/utils.py ``stream_sse_v1plus``), so its floor
is far above the server's. Overheads are medians of the paired differences (b - a), (c - a), (d - a). Targets (issue 6): under
15 ms in-process and under 50 ms end to end. Text uses greedy decoding (temperature 0) so every
variant produces the same tokens; the script checks that the texts match.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any, Callable

from _common import (
    AppServer, IMAGE, PROMPTS, SEED, SYSTEM, TEXT, VIDEO, VOICE,
    cpu_seconds, header, http_client, median, noop_server, report, sse_call, tiny_request, tiny_studio, workdir,
)
from gradio_client import Client  # after _common: it sets the offline environment first


def raw_call(modality: str, model: Any) -> Callable[[], Any]:
    """The plain library call on the loaded model object (what the generator wraps)."""
    import torch

    if modality == "text":
        tokenizer, lm = model.tokenizer, model.model
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPTS["text"]}]
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

        def text() -> str:
            if tokenizer.chat_template:
                enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True, return_tensors="pt")
            else:
                enc = tokenizer(f"{SYSTEM}\n\n{PROMPTS['text']}", return_tensors="pt")
            torch.manual_seed(SEED)
            with torch.inference_mode():
                out = lm.generate(**enc, max_new_tokens=TEXT["max_new_tokens"], do_sample=False, pad_token_id=pad)
            return tokenizer.decode(out[0, enc["input_ids"].shape[-1]:], skip_special_tokens=True)

        return text
    if modality == "image":
        def image() -> Any:
            generator = torch.Generator("cpu").manual_seed(SEED)
            return model(prompt=PROMPTS["image"], generator=generator, output_type="pil", **IMAGE).images[0]

        return image
    if modality == "audio":
        from aigc_demo.backends.bark_audio import SAMPLING  # Bark's original sampling temperatures

        def audio() -> Any:
            inputs = model.processor(PROMPTS["audio"], voice_preset=VOICE, return_tensors="pt")
            torch.manual_seed(SEED)
            with torch.inference_mode():
                return model.model.generate(**inputs, **SAMPLING)[0].numpy()

        return audio

    def video() -> Any:
        generator = torch.Generator("cpu").manual_seed(SEED)
        kwargs = {k: v for k, v in VIDEO.items() if k != "fps"}
        return model(prompt=PROMPTS["video"], generator=generator, output_type="np", **kwargs).frames[0]

    return video


def studio_call(studio: Any, modality: str) -> Callable[[], Any]:
    request = tiny_request(modality)
    return lambda: studio.run(modality, request)


def http_call(client: Any, modality: str) -> Callable[[], Any]:
    return lambda: client.predict(prompt=PROMPTS[modality], seed=SEED, api_name=f"/generate_{modality}", **HTTP_ARGS[modality])


def sse_call_of(http: Any, client: Any, modality: str) -> Callable[[], Any]:
    """The same request through Gradio's REST API: positional data in the API's parameter order,
    read from that server's API info (``_common.api_data`` follows this checkout's declared
    parameters; a server from another checkout, ``--compare-root``, may declare others)."""
    api_name = f"/generate_{modality}"
    sent = {"prompt": PROMPTS[modality], "seed": SEED, **HTTP_ARGS[modality]}
    parameters = client.view_api(print_info=False, return_format="dict")["named_endpoints"][api_name]["parameters"]
    data = [sent[p["parameter_name"]] if p["parameter_name"] in sent else p["parameter_default"] for p in parameters]
    return lambda: sse_call(http, api_name, data)


HTTP_ARGS: dict[str, dict[str, Any]] = {  # every parameter after prompt that the benchmark sets, seed left out
    "text": dict(system_prompt=SYSTEM, **TEXT),
    "image": dict(negative_prompt="", **IMAGE, num_images=1),
    "audio": dict(voice_preset=VOICE),
    "video": dict(negative_prompt="", **VIDEO),
}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


def video_attribution(reps: int) -> None:
    """Where the video's in-process overhead goes: the one encode with the record inside (PyAV,
    in-process since issue 15), and what a remux of another file's metadata would cost."""
    import numpy as np

    from aigc_demo.backends.diffusers_video import write_mp4
    from aigc_demo.record import provenance

    frames = np.random.default_rng(0).integers(0, 255, size=(VIDEO["num_frames"], 64, 64, 3), dtype=np.uint8)
    with workdir("aigc-mp4-") as work:
        encode, remux = [], []
        for i in range(reps):
            path = work / f"clip{i}.mp4"
            tags = provenance.video_tags({"id": str(i), "prompt": PROMPTS["video"]})
            encode.append(timed(lambda: write_mp4(frames, path, VIDEO["fps"], tags))[0])
            remux.append(timed(lambda: provenance.embed(path, {"id": f"{i}b", "prompt": PROMPTS["video"]}))[0])
    report("video: H.264 encode with the record inside (write_mp4, PyAV)", median(encode), "ms")
    report("video: ffmpeg metadata remux (provenance.embed; no longer on the studio's path)", median(remux), "ms")


def session_state_cost(work: Any, reps: int) -> None:
    """Gradio builds a SessionState for each new session: every browser page load, every
    gradio_client, every REST call. Gradio's own builds a config copy of every block (its cost
    grows with the app's size); the app installs a lean one (ui.sessions). Both are timed."""
    import gradio.state_holder as state_holder

    from aigc_demo.settings import preset_settings
    from aigc_demo.studio import Studio
    from aigc_demo.ui import build_app

    gradio_own = state_holder.SessionState
    demo = build_app(Studio(preset_settings("tiny", data_dir=work / "data-session", cache_dir=work / "cache")))
    installed = state_holder.SessionState  # what the app's server builds per session
    for label, cls in (("Gradio's own SessionState", gradio_own), ("the app's SessionState", installed)):
        cost = median([timed(lambda: cls(demo))[0] for _ in range(reps)])
        report(f"{label} for a new session ({len(demo.blocks)} blocks)", cost, "ms",
               note="per new session: every REST call, page load and client" if cls is installed else "")


def in_process(args: argparse.Namespace) -> None:
    """(a) raw vs (b) studio.run only, interleaved: the in-process overhead without the servers."""
    header("overhead per request: raw library call vs studio (in-process)")
    with workdir("aigc-overhead-") as work:
        studio = tiny_studio(work, work / "cache")
        for modality in args.modalities.split(","):
            variants = {"raw": raw_call(modality, studio.load(modality).model), "studio": studio_call(studio, modality)}
            for _ in range(args.warmup):
                for fn in variants.values():
                    fn()
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.reps):
                for name, fn in variants.items():
                    times[name].append(timed(fn)[0])
            raw = median(times["raw"])
            report(f"{modality} raw library call", raw, "ms")
            report(f"{modality} studio.run (in-process)", median(times["studio"]), "ms", median(times["studio"]) / raw)
            report(f"{modality} overhead in-process", median([t - r for t, r in zip(times["studio"], times["raw"])]),
                   "ms", note="target < 15 ms")
        studio.manager.close()
    if "video" in args.modalities.split(","):
        video_attribution(args.reps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--modalities", default="text,image,audio,video")
    parser.add_argument("--in-process", action="store_true", help="raw call vs studio.run only (no servers)")
    parser.add_argument("--compare-root", default="", help="another checkout of the app (e.g. main): its server "
                        "is measured in the same loop, for before/after figures under the same load")
    args = parser.parse_args()
    if args.in_process:
        return in_process(args)
    modalities = args.modalities.split(",")
    header("overhead per request: raw library call vs studio (in-process) vs HTTP")

    with workdir("aigc-overhead-") as work:
        with noop_server(work) as url:  # the floor: Gradio + client on an endpoint that does nothing
            client, http = Client(url, analytics_enabled=False, verbose=False), http_client(url)
            for _ in range(args.warmup):
                client.predict("hi", 1, api_name="/echo"), sse_call(http, "/echo", ["hi", 1])
            floor_client = median([timed(lambda: client.predict("hi", 1, api_name="/echo"))[0] for _ in range(args.reps)])
            floor_sse = median([timed(lambda: sse_call(http, "/echo", ["hi", 1]))[0] for _ in range(args.reps)])
            http.close()
        report("floor: no-op endpoint of a bare Gradio app, gradio_client", floor_client, "ms")
        report("floor: no-op endpoint of a bare Gradio app, REST/SSE", floor_sse, "ms")
        session_state_cost(work, 5)

        cache = work / "cache"
        studio = tiny_studio(work, cache)
        models = {m: studio.load(m).model for m in modalities}  # builds the tiny models once, here
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(AppServer(work, cache))
            client, http = server.client(), http_client(server.url)
            other = other_http = other_client = None
            if args.compare_root:  # the same app from another checkout, measured in the same loop
                (work / "other").mkdir()
                other = stack.enter_context(AppServer(work / "other", cache, root=Path(args.compare_root).resolve()))
                other_client, other_http = other.client(), http_client(other.url)
            for modality in modalities:
                variants = {
                    "raw": raw_call(modality, models[modality]),
                    "studio": studio_call(studio, modality),
                    "client": http_call(client, modality),
                    "sse": sse_call_of(http, client, modality),
                }
                if other is not None:
                    variants["sse_other"] = sse_call_of(other_http, other_client, modality)
                for _ in range(args.warmup):  # the first HTTP call loads the model in the server
                    outputs = {name: fn() for name, fn in variants.items()}
                if modality == "text":  # same work in every variant: identical greedy text
                    texts = {outputs["raw"], outputs["studio"].text, outputs["client"][0], outputs["sse"][-1][2][0]}
                    if len(texts) != 1:
                        print(f"# warning: the variants produced different texts: {texts}")
                servers = {"sse": server.process.pid, "sse_other": other.process.pid if other else None}
                times: dict[str, list[float]] = {name: [] for name in variants}
                cpu: dict[str, list[float]] = {name: [] for name in ("raw", "sse", "sse_other")}
                for _ in range(args.reps):
                    for name, fn in variants.items():
                        before = cpu_ms(servers.get(name))
                        times[name].append(timed(fn)[0])
                        if name in cpu:
                            cpu[name].append(cpu_ms(servers.get(name)) - before)
                raw = median(times["raw"])
                over = {name: median([t - r for t, r in zip(times[name], times["raw"])]) for name in variants}
                report(f"{modality} raw library call", raw, "ms")
                report(f"{modality} studio.run (in-process)", median(times["studio"]), "ms", median(times["studio"]) / raw)
                report(f"{modality} HTTP gradio_client", median(times["client"]), "ms", median(times["client"]) / raw)
                report(f"{modality} HTTP REST/SSE", median(times["sse"]), "ms", median(times["sse"]) / raw)
                report(f"{modality} overhead in-process", over["studio"], "ms", note="target < 15 ms")
                report(f"{modality} overhead HTTP gradio_client", over["client"], "ms",
                       note=f"target < 50 ms; {over['client'] - floor_client:.0f} ms above the no-op floor")
                report(f"{modality} overhead HTTP REST/SSE", over["sse"], "ms",
                       note=f"{over['sse'] - floor_sse:.0f} ms above the no-op floor")
                report(f"{modality} CPU overhead REST/SSE (server CPU per request - raw call CPU)",
                       median([c - r for c, r in zip(cpu["sse"], cpu["raw"])]), "ms",
                       note=f"server {median(cpu['sse']):.0f} ms, raw {median(cpu['raw']):.0f} ms; steadier than wall time under load")
                if other is not None:
                    report(f"{modality} HTTP REST/SSE, {args.compare_root}", median(times["sse_other"]), "ms",
                           median(times["sse_other"]) / raw)
                    report(f"{modality} overhead HTTP REST/SSE, {args.compare_root}", over["sse_other"], "ms")
                    report(f"{modality} CPU overhead REST/SSE, {args.compare_root}",
                           median([c - r for c, r in zip(cpu["sse_other"], cpu["raw"])]), "ms",
                           note=f"server {median(cpu['sse_other']):.0f} ms")
                    report(f"{modality} REST/SSE this checkout - {args.compare_root}",
                           median([a - b for a, b in zip(times["sse"], times["sse_other"])]), "ms",
                           note="median of paired differences, same loop")
            http.close()
        studio.manager.close()
        if "video" in modalities:
            video_attribution(args.reps)


def cpu_ms(pid: int | None) -> float:
    """CPU milliseconds (user + system) used so far by ``pid``, or by this process when None
    (the raw call runs here, on this thread)."""
    return time.process_time() * 1000 if pid is None else cpu_seconds(pid) * 1000


if __name__ == "__main__":
    main()
