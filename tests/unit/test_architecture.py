"""The dependency rule, read from the source with `ast` (nothing here imports the checked modules).

    tools ─────────────► anything
    cap01 ─────────────► orchestration, graphstore, contracts   (wiring)
    orchestration ─────► graphstore, contracts
    graphstore ────────► contracts
    contracts            (Pydantic only)

The PURE modules (the contract, the agents, the pipeline, the graph schema, codecs, Cypher and
mapper) import no framework, driver, broker or clock, directly or through the modules they load.
Imports count wherever they are written: at module level, inside functions, under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "orchestration", "graphstore", "cap01", "tools")

# Files (globs relative to ROOT) whose modules are PURE; a glob that matches nothing yet is fine.
PURE_GLOBS = (
    "contracts/**/*.py",
    "orchestration/agents/**/*.py",
    "orchestration/pipeline.py",
    "orchestration/web/presenters.py",
    "orchestration/diff.py",
    "orchestration/history.py",
    "orchestration/web/history_page.py",
    "graphstore/schema.py",
    "graphstore/scope.py",
    "graphstore/rollup.py",
    "graphstore/similarity.py",
    "graphstore/embedding.py",
    "tools/retrieval_eval.py",
    "graphstore/mapper.py",
    "graphstore/codecs/**/*.py",
    "graphstore/cypher/**/*.py",
)
# Frameworks, drivers, brokers and the clock module: none of them in a PURE module.
IMPURE = ("django", "neo4j", "neomodel", "django_neomodel", "celery", "redis", "kombu",
          "rest_framework", "drf_spectacular", "time")
# The project's web/API layer: DRF and its schema, the URLconf, orchestration's API and pages.
# (graphstore's own admin pages use django.http and django.urls: the admin site is Django's.)
WEB_LAYER = ("rest_framework", "drf_spectacular", "cap01.urls", "orchestration.api",
             "orchestration.web")

# Package-level edges that may exist. They form no cycle (checked below), so no import cycle
# between the packages can exist either.
ALLOWED_EDGES = {
    ("orchestration", "graphstore"), ("orchestration", "contracts"),
    ("graphstore", "contracts"),
    ("cap01", "orchestration"), ("cap01", "graphstore"), ("cap01", "contracts"),
    *(("tools", p) for p in PACKAGES if p != "tools"),
}


@dataclass(frozen=True)
class Import:
    """One imported module, where the import is written, and whether it runs at import time."""

    source: Path
    line: int
    target: str
    module_level: bool

    def at(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_project_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _source_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _pure_files() -> list[Path]:
    return sorted({p for glob in PURE_GLOBS for p in ROOT.glob(glob) if p.is_file()})


def _module_level_nodes(tree: ast.Module) -> set[int]:
    """ids of the import nodes that run when the module is imported (not inside a def)."""
    found: set[int] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.add(id(child))
            visit(child)

    visit(tree)
    return found


@cache
def imports_of(path: Path) -> tuple[Import, ...]:
    """Every module `path` imports, relative imports resolved, `from m import sub` as m.sub."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module_level = _module_level_nodes(tree)
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    found: list[Import] = []
    for node in ast.walk(tree):
        at_import = id(node) in module_level
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name, at_import) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                target = candidate if _is_project_module(candidate) else module
                found.append(Import(path, node.lineno, target, at_import))
    return tuple(sorted(found, key=lambda i: (i.line, i.target)))


def _matches(target: str, prefixes: Iterable[str]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def _file_of(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _loaded_on_import(path: Path) -> Iterator[tuple[Path, list[str]]]:
    """Every project file that importing `path`'s module executes, with the chain that loads it
    (parent packages' __init__ included; imports inside functions do not run on import)."""
    module = _module_name(path)
    parents = [".".join(module.split(".")[:n]) for n in range(1, module.count(".") + 1)]
    queue = [(f, [m]) for m in [*parents, module] if (f := _file_of(m)) is not None]
    seen: set[Path] = set()
    while queue:
        file, chain = queue.pop(0)
        if file in seen:
            continue
        seen.add(file)
        yield file, chain
        for imp in imports_of(file):
            if not imp.module_level or not _matches(imp.target, PACKAGES):
                continue
            names = imp.target.split(".")
            for n in range(1, len(names) + 1):  # `import a.b.c` runs a, a.b and a.b.c
                target = ".".join(names[:n])
                if (f := _file_of(target)) is not None and f not in seen:
                    queue.append((f, [*chain, f"{target} ({imp.at()})"]))


def _violations(files: Iterable[Path], forbidden: Iterable[str]) -> list[str]:
    forbidden = tuple(forbidden)
    found = {f"{imp.at()}: imports {imp.target}"
             for file in files for imp in imports_of(file) if _matches(imp.target, forbidden)}
    return sorted(found)


def test_pure_modules_import_no_framework_driver_broker_or_clock() -> None:
    """PURE modules import no django/neo4j/neomodel/celery/redis/kombu/DRF or `time`."""
    assert _pure_files(), "no PURE module found: are the globs still right?"
    bad = _violations(_pure_files(), IMPURE)
    assert not bad, "PURE modules must not import these (pass `now` in):\n" + "\n".join(bad)


def test_pure_modules_load_nothing_impure_when_imported() -> None:
    """Importing a PURE module executes no project module that imports a framework or clock."""
    shortest: dict[str, list[str]] = {}  # offending import -> the shortest chain that runs it
    for pure in _pure_files():
        for file, chain in _loaded_on_import(pure):
            for imp in imports_of(file):
                if imp.module_level and _matches(imp.target, IMPURE):
                    key = f"{imp.at()}: imports {imp.target}"
                    if key not in shortest or len(chain) < len(shortest[key]):
                        shortest[key] = chain
    bad = [f"{key}, loaded by {' -> '.join(chain)}" for key, chain in sorted(shortest.items())]
    assert not bad, "a PURE module pulls these in on import:\n" + "\n".join(bad)


@pytest.mark.parametrize(("package", "forbidden"), [
    ("graphstore", ("orchestration", "tools", *WEB_LAYER)),
    ("contracts", ("orchestration", "graphstore", "tools", "cap01")),
    ("orchestration", ("tools",)),
    ("cap01", ("tools",)),
])
def test_package_imports_nothing_from_the_layers_above(package: str,
                                                       forbidden: tuple[str, ...]) -> None:
    """A package imports nothing from the layers that depend on it (or the web/API layer)."""
    bad = _violations(_source_files(package), forbidden)
    assert not bad, f"{package} must not import {', '.join(forbidden)}:\n" + "\n".join(bad)


def test_allowed_package_edges_form_no_cycle() -> None:
    """The allowed package edges are acyclic, so keeping to them rules out import cycles."""
    remaining = set(ALLOWED_EDGES)
    nodes = set(PACKAGES)
    while nodes:
        sources = {n for n in nodes if not any(dst == n for _, dst in remaining)}
        assert sources, f"the allowed edges have a cycle among {sorted(nodes)}"
        nodes -= sources
        remaining = {(a, b) for a, b in remaining if a not in sources}


def test_no_import_cycle_between_packages() -> None:
    """Every import between top-level packages follows an allowed edge (no cycle possible)."""
    bad: list[str] = []
    for package in PACKAGES:
        for file in _source_files(package):
            for imp in imports_of(file):
                target = imp.target.split(".")[0]
                if target in PACKAGES and target != package \
                        and (package, target) not in ALLOWED_EDGES:
                    bad.append(f"{imp.at()}: {package} -> {imp.target}")
    assert not bad, "imports between packages outside the allowed edges:\n" + "\n".join(bad)


def _services_files() -> list[Path]:
    single = ROOT / "orchestration" / "services.py"
    return [*([single] if single.is_file() else []),
            *sorted((ROOT / "orchestration" / "services").rglob("*.py"))]


def test_services_do_not_import_tasks() -> None:
    """orchestration's services never import its tasks (tasks call services, not the reverse)."""
    files = _services_files()
    assert files, "orchestration.services not found"
    bad = _violations(files, ("orchestration.tasks",))
    assert not bad, "services must enqueue by task name, not import tasks:\n" + "\n".join(bad)
