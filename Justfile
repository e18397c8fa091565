# The project's commands. `just` comes with the test extra: `.venv/bin/just lint`.
# Recipes run in this folder, with the tools of ./.venv.

set shell := ["bash", "-euo", "pipefail", "-c"]

bin := justfile_directory() / ".venv/bin"
# Markdown files with generated parts (`cog` blocks): the settings table, every --help.
cogged := "README.md CONTRIBUTING.md docs/*.md"

# List the recipes.
default:
    @{{ bin }}/just --list

# Every static check: ruff, formatting, mypy, the generated docs are current, the layers.
lint:
    {{ bin }}/ruff check .
    {{ bin }}/ruff format --check .
    {{ bin }}/mypy
    {{ bin }}/cog --check -I scripts {{ cogged }}
    {{ bin }}/python -m pytest -q -p no:cacheprovider tests/test_architecture.py

# The tests that need no Debian package, browser, model load or server (extra args: pytest).
test-fast *args:
    {{ bin }}/python -m pytest -m "not slow and not apt" {{ args }}

# Hunt for new fuzz cases: the property and fuzz tests with fresh random examples, many more.
fuzz *args:
    HYPOTHESIS_PROFILE=explore FUZZ_SCALE=10 {{ bin }}/python -m pytest -p no:cacheprovider tests/ingestion/test_fuzz_ingest.py tests/ingestion/test_cleaning.py tests/core/test_suite_fuzz.py {{ args }}

# Everything, exactly as CI runs it (installs what the tests drive; needs root).
test *args:
    bash tests/run.sh {{ args }}

# Rewrite the generated parts of the docs from the code (then `just lint` passes).
docs:
    {{ bin }}/cog -r -I scripts {{ cogged }}
