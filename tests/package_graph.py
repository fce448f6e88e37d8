"""The project's import graph, read statically: what each stage's script runs, and whether dvc.yaml's deps cover it.

Every `import` and `from ... import` anywhere in a file counts, lazy ones inside functions included, as do
`importlib.import_module("literal")` calls. Only the project's own modules (files under the root) are followed.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

SCRIPT = re.compile(r"(?:^|\s)(?:python\S*\s+)?(?:-m\s+(?P<module>[\w.]+)|(?P<file>[\w./-]+\.py))")


def module_file(root: Path, name: str) -> Path | None:
    parts = name.split(".")
    for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _package_of(root: Path, path: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts[:-1]


def imported_names(root: Path, path: Path) -> set[str]:
    """Dotted names imported by `path`, relative imports resolved."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _package_of(root, path)[: len(_package_of(root, path)) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


def project_imports(root: Path, path: Path) -> set[Path]:
    """The project files `path` imports directly, with the packages (`__init__.py`) each import runs."""
    found = set()
    for name in imported_names(root, path):
        bits = name.split(".")
        for depth in range(1, len(bits) + 1):
            if (target := module_file(root, ".".join(bits[:depth]))) is not None:
                found.add(target)
    found.discard(path)
    return found


def closure(root: Path, start: Path) -> set[Path]:
    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(project_imports(root, path) - seen)
    return seen


def stage_scripts(root: Path) -> dict[str, Path]:
    """The project file each dvc.yaml stage's cmd runs."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    scripts = {}
    for name, stage in stages.items():
        found = SCRIPT.search(stage["cmd"])
        if found is None:
            raise AssertionError(f"stage {name}: no Python script or module in its cmd {stage['cmd']!r}")
        script = module_file(root, found["module"]) if found["module"] else root / found["file"]
        if script is None or not script.is_file():
            raise AssertionError(f"stage {name}: {found.group(0).strip()} is not a file of the project")
        scripts[name] = script
    return scripts


def uncovered_modules(root: Path) -> dict[str, list[str]]:
    """For each stage, the project files its script runs that none of its deps (a file or a folder above it) covers."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    missing = {}
    for name, script in stage_scripts(root).items():
        deps = [(root / dep).resolve() for dep in stages[name].get("deps", []) if "${" not in dep]
        uncovered = sorted(str(path.relative_to(root)) for path in closure(root, script)
                           if not any(path == dep or dep in path.parents for dep in deps))
        if uncovered:
            missing[name] = uncovered
    return missing


def import_cycles(root: Path, package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module (or a module importing itself) inside `package`."""
    files = sorted((root / package).rglob("*.py"))
    graph = {path: project_imports(root, path) & set(files) for path in files}
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    cycles = []

    def visit(node: Path) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(str(p.relative_to(root)) for p in group))

    for node in files:
        if node not in index:
            visit(node)
    return cycles
