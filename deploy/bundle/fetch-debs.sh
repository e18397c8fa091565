#!/usr/bin/env bash
# Download Debian 12's Tesseract OCR (tesseract-ocr, tesseract-ocr-eng, plus one
# tesseract-ocr-LANG per extra language given) and every package it depends on, into OUT.
# The Docker image is built with no network, so the bundle carries them (build.sh runs
# this, or takes a folder with --debs); deploy/docker/install-debs.sh installs, in the
# image, the ones its base image lacks. Run on a connected Debian 12 machine of the
# target's architecture, after `apt-get update`.
#
#   deploy/bundle/fetch-debs.sh OUT [LANG...]      # e.g. fetch-debs.sh debs deu fra
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,9p' "$0"; exit 2
fi
out="$1"; shift
packages=(tesseract-ocr tesseract-ocr-eng)
for lang in "$@"; do
  packages+=("tesseract-ocr-$lang")
done
mkdir -p "$out"
# The whole dependency closure (not Recommends): install-debs.sh skips what is installed.
mapfile -t closure < <(
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${packages[@]}" | grep '^[a-z0-9]' | sort -u
)
(cd "$out" && apt-get download -qq "${closure[@]}")
# An index, so apt in the image resolves what to install (not every alternative fetched).
if command -v apt-ftparchive >/dev/null; then
  (cd "$out" && apt-ftparchive packages . >Packages)
elif command -v dpkg-scanpackages >/dev/null; then
  (cd "$out" && dpkg-scanpackages --multiversion . >Packages 2>/dev/null)
else
  echo "error: needs apt-ftparchive (apt-get install apt-utils) to index $out" >&2; exit 1
fi
echo "fetched ${#closure[@]} packages into $out" >&2
