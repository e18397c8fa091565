#!/bin/sh
# Install Tesseract OCR (tesseract-ocr, tesseract-ocr-eng, and any tesseract-ocr-LANG the
# folder holds) from DIR, a folder of Debian packages with a Packages index (the bundle's
# debs/, made by deploy/bundle/fetch-debs.sh), with apt and no network: the Docker image
# is built with none. apt installs only what the base image lacks. A DIR with no index
# installs nothing: the image then has no OCR, and a scanned page is reported with the
# package to install.
#
#   install-debs.sh DIR
set -eu

dir="$1"
if [ ! -s "$dir/Packages" ]; then
  echo "install-debs: no packages in $dir: this image has no OCR (see deploy/README.md)" >&2
  exit 0
fi
list="$(mktemp)"
echo "deb [trusted=yes] file:$dir ./" >"$list"
only_ours="-o Dir::Etc::SourceList=$list -o Dir::Etc::SourceParts=/dev/null"
langs="$(sed -n 's/^Package: \(tesseract-ocr-[a-z_]*\)$/\1/p' "$dir/Packages" | sort -u)"
# shellcheck disable=SC2086 # $only_ours and $langs are lists of words
apt-get $only_ours update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get $only_ours install -y -qq --no-install-recommends \
  tesseract-ocr $langs
rm -rf /var/lib/apt/lists/* "$list"
tesseract --list-langs 2>/dev/null | grep -qx eng || { echo "install-debs: no eng" >&2; exit 1; }
