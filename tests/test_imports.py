"""The import graph of our packages: no cycle between modules, no import running back up.

The graph is read from the source (``ast``), not by importing: every ``import`` and
``from … import`` a module runs, at the top or inside a function (a function-level import is
still a dependency, only a later one), except those under ``if TYPE_CHECKING:``, which never
run. ``from package import name`` is an edge to ``package.name`` when that is a module, else
to ``package``. Importing a module also runs its parent package's ``__init__``; that implicit
step is not an edge (it would make every re-exporting ``__init__`` a cycle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("spectra", "driver", "matcher", "parcels", "station", "interdict")

# What each package may import of ours (the floors of README.md's "What is where").
ALLOWED: Mapping[str, frozenset[str]] = {
    "spectra": frozenset(),
    "driver": frozenset({"spectra"}),
    "matcher": frozenset({"spectra"}),
    "parcels": frozenset({"spectra", "matcher"}),
    "station": frozenset({"spectra", "driver", "matcher", "parcels"}),
    "interdict": frozenset({"station"}),
}

KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Cycles known and owned elsewhere. The test fails on any other cycle and on one of these
that is gone (so the list cannot go stale)."""


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of our packages: dotted name -> file."""
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = f
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The modules of ours that ``name`` imports when it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_only(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    out.add(sub)
                elif target in known:
                    out.add(target)
    out.discard(name)
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    known = modules(root)
    return {name: imports_of(name, path, known) for name, path in known.items()}


@cache
def _our_graph() -> dict[str, frozenset[str]]:
    """The graph of this tree, read once per session."""
    return {k: frozenset(v) for k, v in graph().items()}


def cycles(edges: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp: set[str] = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(frozenset(comp))
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_function_level_imports_but_not_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "station"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from station import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from .a import f\nfrom . import c\n")
    (pkg / "c.py").write_text("from .a import f\n")
    edges = {k: v for k, v in graph(tmp_path).items() if k.startswith("station")}
    assert edges["station.a"] == {"station.b"}
    assert edges["station.b"] == {"station.c"}
    assert cycles(edges) == [frozenset({"station.a", "station.b", "station.c"})]


def test_no_import_cycle_between_modules() -> None:
    found = set(cycles({k: set(v) for k, v in _our_graph().items()}))
    new = sorted(sorted(c) for c in found - KNOWN_CYCLES)
    gone = sorted(sorted(c) for c in KNOWN_CYCLES - found)
    assert not new, f"import cycles: {new}"
    assert not gone, f"these known cycles are gone, take them off KNOWN_CYCLES: {gone}"


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_runs_back_up(package: str) -> None:
    edges = _our_graph()
    wrong = sorted(
        (mod, dep) for mod, deps in edges.items() if mod.split(".")[0] == package
        for dep in deps
        if dep.split(".")[0] != package and dep.split(".")[0] not in ALLOWED[package])
    assert not wrong, f"{package} imports what it must not: {wrong}"


def test_parcels_takes_only_the_result_models_of_the_matcher() -> None:
    edges = _our_graph()
    wrong = sorted((m, d) for m, deps in edges.items() if m.startswith("parcels")
                   for d in deps if d.startswith("matcher") and d != "matcher.results")
    assert not wrong, wrong


def test_workflows_know_nothing_of_commands_or_exit_codes() -> None:
    edges = _our_graph()
    wrong = sorted((m, d) for m, deps in edges.items()
                   if m.startswith(("station.workflows", "station.report"))
                   for d in deps if d.startswith(("station.commands", "station.exit_codes",
                                                  "station.cli")))
    assert not wrong, f"workflows return outcomes or raise; only commands speak exit codes: {wrong}"


IO_MODULES = frozenset({"asyncio", "os", "select", "selectors", "serial", "socket",
                        "subprocess", "threading", "time"})
"""Modules that touch ports, processes, threads or clocks."""


def test_the_protocol_room_is_io_free() -> None:
    # driver.protocol is framing and message tables (bytes in, frames out); waiting,
    # retrying and talking over a port is driver.session's
    edges = _our_graph()
    ours = sorted((m, d) for m, deps in edges.items() if m.startswith("driver.protocol")
                  for d in deps if d.startswith(("driver.transport", "driver.session",
                                                 "driver.analyzer", "driver.simulator")))
    assert not ours, f"the protocol room reaches for I/O: {ours}"
    stdlib = []
    for name, path in modules().items():
        if not name.startswith("driver.protocol"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            stdlib += [(name, n) for n in names if n.split(".")[0] in IO_MODULES]
    assert not stdlib, f"the protocol room imports I/O modules: {stdlib}"
