"""Offline text speed: the app's path (Studio.stream -> llama.cpp backend) against a raw
llama-cpp-python call on the same shipped GGUF, side by side in one run.

    .venv/bin/python benchmarks/offline_text.py [--threads N] [--reps 3] [--tokens 128]

Both sides load the same file with the same threads, context, sampling (greedy) and repetition
penalty, so they produce the same tokens; the figures are first-token latency and tokens/s after
it (medians), and the app/raw ratio. A second pair does the same with the retail scenario's
JSON schema (constrained decoding), which costs llama.cpp's grammar sampler extra time.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from _common import fmt, header, median, report

from aigc_demo.backends import create
from aigc_demo.backends.llamacpp_text import CONTEXT_TOKENS, PENALTY_WINDOW
from aigc_demo.core.types import TextRequest
from aigc_demo.settings import from_env
from aigc_demo.studio import Studio

MODEL = "gguf:qwen2.5-coder-0.5b-instruct"
PROMPT = "Write a short product description for a bamboo water bottle that keeps drinks cold for 24 hours."


def timed(chunks) -> tuple[float, float, int]:
    """(seconds to the first chunk, chunks per second after it, chunks) of a text stream."""
    start, first, count = time.perf_counter(), None, 0
    for _ in chunks:
        count += 1
        first = first or time.perf_counter()
    end = time.perf_counter()
    return first - start, (count - 1) / max(end - first, 1e-9), count


def raw_stream(llama, request: TextRequest):
    """The plain library call, as a user of llama-cpp-python writes it."""
    extra = {"response_format": {"type": "json_object", "schema": json.loads(request.response_schema)}} \
        if request.response_schema else {}
    messages = [{"role": "system", "content": request.system_prompt}, {"role": "user", "content": request.prompt}]
    for chunk in llama.create_chat_completion(messages=messages, max_tokens=request.max_new_tokens, seed=request.seed,
                                              temperature=0.0, top_k=1, repeat_penalty=request.repetition_penalty,
                                              stream=True, **extra):
        if chunk["choices"][0]["delta"].get("content"):
            yield chunk


def app_stream(studio: Studio, request: TextRequest):
    return (u for u in studio.stream("text", request) if isinstance(u, str))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    header(f"offline text: app vs raw llama.cpp ({MODEL}, {args.threads} threads, {args.reps} reps)")
    from llama_cpp import Llama

    backend = create("text", MODEL, threads=args.threads)
    path = backend.location()
    start = time.perf_counter()
    raw = Llama(model_path=path, n_ctx=CONTEXT_TOKENS, n_threads=args.threads, n_threads_batch=args.threads,
                verbose=False, last_n_tokens_size=PENALTY_WINDOW)
    report("raw load", time.perf_counter() - start, "s")
    settings = from_env({"AIGC_PRESET": "offline", "AIGC_THREADS": str(args.threads), "AIGC_DATA_DIR": tempfile.mkdtemp()})
    studio = Studio(settings)
    start = time.perf_counter()
    studio.load("text")
    report("app load (first use, through the manager)", time.perf_counter() - start, "s")

    from aigc_demo.industries import load_scenarios
    from aigc_demo.scenarios import structure

    copy = next(t for t in next(s for s in load_scenarios() if s.id == "retail").tasks if t.name == "copy")
    cases = {
        "free text": TextRequest(PROMPT, max_new_tokens=args.tokens, temperature=0, seed=1),
        "JSON schema": TextRequest(PROMPT, max_new_tokens=args.tokens, temperature=0, seed=1,
                                   response_schema=structure.schema(copy.structure, "en")),
    }
    for name, request in cases.items():
        results = {"raw": [], "app": []}
        for _ in range(args.reps):  # alternate, so load on the machine hits both alike
            results["raw"].append(timed(raw_stream(raw, request)))
            results["app"].append(timed(app_stream(studio, request)))
        for side in ("raw", "app"):
            # the first run evaluates the whole prompt; later ones reuse llama.cpp's cached prefix
            cold = results[side][0][0]
            rate = median([r[1] for r in results[side]])
            tokens = median([r[2] for r in results[side]])
            ratio = None if side == "raw" else rate / median([r[1] for r in results["raw"]])
            report(f"{name}: {side} first token (whole prompt)", cold, "s")
            report(f"{name}: {side} speed", rate, "tokens/s", ratio, note=f"{fmt(tokens)} tokens")
    studio.manager.close()


if __name__ == "__main__":
    main()
