"""The package's layout: folders by role along the question's path, every import pointing down.

Floors, bottom first (README "How it works"): text and glossary; embedders and generation; config;
ingest and store; search; answer; web; the command line. An import from a module to one on a higher
floor, or an import circle, fails here, as does a module over 450 lines, a class over 250 or a
function over 80 (the README says why a size is kept)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "rag"
FLOORS = {
    "rag.text": 0,
    "rag.glossary": 0,
    "rag.embedders": 1,
    "rag.generation": 1,
    "rag.config": 2,
    "rag.ingest": 3,
    "rag.store": 3,
    "rag.search": 4,
    "rag.answer": 5,
    "rag.web": 6,
    "rag.cli": 7,
    "rag.__main__": 8,
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The rag modules ``name`` imports, at module level or inside functions."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            candidates = [f"{target}.{a.name}" for a in node.names] + [target]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for c in candidates:
            while c and c not in modules and "." in c:
                c = c.rsplit(".", 1)[0]
            if c in modules and c != name and not (path.name == "__init__.py" and c.startswith(name + ".")):
                found.add(c)
    return found


def _floor(name: str) -> int:
    return next((f for prefix, f in FLOORS.items() if name == prefix or name.startswith(prefix + ".")), 9)


def test_every_import_points_down_and_none_goes_round():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    up = sorted((a, b) for a, targets in graph.items() for b in targets if _floor(a) < _floor(b))
    assert not up, f"imports running back up: {up}"
    # a circle is a path back to where it started: depth-first search with the path on a stack
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    circles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, f"import circles: {circles}"


def test_no_module_class_or_function_is_too_long():
    too_long = []
    for path in sorted(ROOT.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT.parent)
        if len(source.splitlines()) > 450:
            too_long.append(f"{where}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            limit = 250 if isinstance(node, ast.ClassDef) else 80
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1
                if size > limit:
                    too_long.append(f"{where}:{node.name}: {size} lines")
    assert not too_long, too_long
