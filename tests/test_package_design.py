"""The package's shape: stage deps cover what each stage runs, no import cycles, test builders stay out of production."""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
import yaml
from package_graph import import_cycles, imported_names, uncovered_modules

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "zhtw_subtitles"


def write_project(root: Path, files: dict[str, str], deps: list[str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    stage = {"cmd": "python stages/work.py", "deps": deps}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"work": stage}}), encoding="utf-8")
    return root


def test_every_stage_dep_list_covers_the_modules_its_script_runs():
    assert uncovered_modules(REPO) == {}


def test_a_module_imported_lazily_and_missing_from_the_deps_is_named(tmp_path):
    root = write_project(tmp_path, {
        "stages/work.py": "from pkg.a import run\n",
        "pkg/__init__.py": "",
        "pkg/a.py": """
            def run():
                from .deep import helper  # lazy, relative
                return helper()
            """,
        "pkg/deep.py": "import importlib\nPLUGIN = importlib.import_module('pkg.plugin')\n",
        "pkg/plugin.py": "",
    }, deps=["stages/work.py", "pkg/__init__.py", "pkg/a.py"])
    assert uncovered_modules(root) == {"work": ["pkg/deep.py", "pkg/plugin.py"]}
    write_project(root, {}, deps=["stages/work.py", "pkg"])
    assert uncovered_modules(root) == {}


def test_the_package_has_no_import_cycle():
    assert import_cycles(REPO, PACKAGE) == []


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    write_project(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import x\n",
        "pkg/b.py": "def x():\n    from pkg import c\n",
        "pkg/c.py": "from . import a\n",
        "pkg/d.py": "from pkg import a\n",
    }, deps=[])
    assert import_cycles(tmp_path, "pkg") == [["pkg/a.py", "pkg/b.py", "pkg/c.py"]]


@pytest.mark.parametrize("path", sorted(p for p in (REPO / PACKAGE).rglob("*.py") if "testing" not in p.parts),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_production_code_never_imports_the_test_builders(path):
    assert not [name for name in imported_names(REPO, path) if name.startswith(f"{PACKAGE}.testing")]


@pytest.mark.parametrize("path", sorted((REPO / "bench").glob("*.py")), ids=lambda p: p.name)
def test_benches_import_no_test_module(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    touched = [ast.unparse(node) for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and ast.unparse(node) == "sys.path"]
    assert not touched, f"{path.name} changes sys.path"
    test_modules = {p.stem for p in (REPO / "tests").glob("*.py")}
    assert not (imported_names(REPO, path) & test_modules)
