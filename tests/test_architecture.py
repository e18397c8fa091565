"""The layers, checked: dependencies run one way, and no module imports itself in a circle.

    api/ (the web layer) -> ui/ -> assistant/ (the core)  <- ingest/
    assistant/cli/ (the composition root) may import all of them.

Every import counts, also one inside a function (a late import hides a dependency, it
does not remove it); only imports under `if TYPE_CHECKING:` are left out of the cycle
check, since they never run.

And no function outside tests/ is over 60 lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "ingest", "ui", "api")

# Which top-level layers each layer must never import.
FORBIDDEN = {
    "core": {"ui", "api", "ingest", "assistant.cli"},
    "ingest": {"ui", "api", "assistant.cli"},
    "ui": {"api", "ingest", "assistant.cli"},
    "api": {"ingest", "assistant.cli"},
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, resolved to a module where the name is one
    line: int
    typing_only: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for pkg in PACKAGES
        for p in sorted((ROOT / pkg).rglob("*.py"))
        if ".venv" not in p.parts
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, known: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    typing_nodes = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for stmt in node.body
        for child in ast.walk(stmt)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        typing_only = id(node) in typing_nodes
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level-1 steps
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod where there is one
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        found += [Import(name, t, node.lineno, typing_only) for t in targets]
    return found


def layer(module: str) -> str | None:
    if module == "assistant.cli" or module.startswith("assistant.cli."):
        return "cli"
    top = module.split(".")[0]
    return {"assistant": "core"}.get(top, top) if top in PACKAGES else None


def inside(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    modules = all_modules()
    known = set(modules)
    return [i for name, path in modules.items() for i in imports_of(name, path, known)]


def test_the_scan_sees_the_packages(graph: list[Import]) -> None:
    """Guards the guard: an empty scan would pass every rule below."""
    importers = {i.module for i in graph}
    assert {"assistant.answering", "ingest.indexer", "ui.app", "api.app"} <= importers
    assert any(inside(i.target, "ingest") for i in graph if i.module.startswith("assistant.cli"))


@pytest.mark.parametrize("source", sorted(FORBIDDEN))
def test_dependencies_run_one_way(graph: list[Import], source: str) -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in graph
        if layer(i.module) == source and any(inside(i.target, f) for f in FORBIDDEN[source])
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles(graph: list[Import]) -> None:
    edges: dict[str, set[str]] = {}
    modules = set(all_modules())
    for i in graph:
        if not i.typing_only and i.target in modules and i.target != i.module:
            edges.setdefault(i.module, set()).add(i.target)
    cycles = find_cycles(edges)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return components


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_test_modules_import_helpers_from_support_not_from_each_other() -> None:
    """Shared test code lives in tests/support/. A test module imported by another is
    loaded a second time (pytest imports test files by path) and ties unrelated tests
    together: moving or renaming one breaks the other."""
    tests = ROOT / "tests"
    test_modules = {p.stem for p in tests.rglob("test_*.py")}
    folders = {p.name for p in tests.iterdir() if p.is_dir()} - {"support"}
    wrong, scanned = [], 0
    for path in sorted(tests.rglob("*.py")):
        scanned += 1
        for i in imports_of(path.stem, path, set()):
            top = i.target.split(".")[0]
            if top in test_modules or top in folders:
                wrong.append(f"{path.relative_to(ROOT)}:{i.line} imports {i.target}")
    assert scanned > 20, "the scan found no test modules"
    assert not wrong, "\n".join(wrong)


# --- function length ------------------------------------------------------------------

MAX_FUNCTION_LINES = 60
NOT_PRODUCT = {"tests", "build", "dist", "data", "node_modules", "__pycache__"}


def product_files() -> list[Path]:
    """Every Python file outside tests/: the packages, scripts/, bench/ and any other
    folder of the project; hidden folders, build output and virtualenvs left out."""
    files = []
    for top in sorted(ROOT.iterdir()):
        if top.name.startswith(".") or top.name in NOT_PRODUCT or top.suffix == ".egg-info":
            continue
        if top.is_file():
            files += [top] if top.suffix == ".py" else []
        elif not (top / "pyvenv.cfg").exists():
            files += [
                p
                for p in sorted(top.rglob("*.py"))
                if not any(part.startswith(".") or part in NOT_PRODUCT for part in p.parts)
            ]
    return files


def long_functions(name: str, source: str, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`name:line function (N lines)` for each function or method over `limit` lines, from
    its `def` to its last line (decorators left out). A nested function counts in the one
    around it, and on its own."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append((node.lineno, f"{name}:{node.lineno} {node.name} ({length} lines)"))
    return [text for _, text in sorted(found)]


def test_no_function_outside_tests_is_longer_than_60_lines() -> None:
    """A function a newcomer cannot read in one screen is split along its steps."""
    files = product_files()
    scanned = {str(p.relative_to(ROOT)) for p in files}
    assert {"assistant/answering.py", "api/app.py", "bench/bench.py"} <= scanned
    assert not any(p.startswith(("tests/", ".venv/")) for p in scanned)
    wrong = [
        line
        for path in files
        for line in long_functions(str(path.relative_to(ROOT)), path.read_text())
    ]
    assert not wrong, f"over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(wrong)


def _planted(name: str, body_lines: int, indent: str = "", head: str = "def") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines - 1))
    return f"{indent}{head} {name}() -> None:\n{body}"


def test_the_length_check_finds_a_long_function() -> None:
    source = (
        "import functools\n"  # line 1
        + _planted("fits", 60)  # lines 2-61
        + "@functools.cache\n"  # line 62: decorators do not count
        + _planted("decorated_fits", 60)  # lines 63-122
        + _planted("too_long", 61)  # lines 123-183
        + "class Thing:\n"  # line 184
        + _planted("method", 62, "    ", "async def")  # lines 185-246
        + _planted("outer", 63)  # lines 247-309, holding a nested one
        + _planted("inner", 61, "    ")  # lines 310-370: also makes outer 124 lines
    )
    assert long_functions("planted.py", source) == [
        "planted.py:123 too_long (61 lines)",
        "planted.py:185 method (62 lines)",
        "planted.py:247 outer (124 lines)",
        "planted.py:310 inner (61 lines)",
    ]
    assert long_functions("planted.py", _planted("fits", 60)) == []
