"""Who may import whom around the test rig: bench/ and rig/ never import tests/, and no test
module imports another test module (what tests share lives in `rig`; fixtures come from
`tests/fixtures/` through conftest's `pytest_plugins`)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (absolute names; no relative imports here)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_bench_and_rig_import_nothing_from_tests():
    files = sorted([*(ROOT / "bench").rglob("*.py"), *(ROOT / "rig").rglob("*.py")])
    assert len(files) > 20
    wrong = {
        f.relative_to(ROOT).as_posix(): sorted(n for n in imported(f) if n.split(".")[0] == "tests")
        for f in files
    }
    assert {f: names for f, names in wrong.items() if names} == {}


def test_no_test_module_imports_another_test_module_or_conftest():
    files = sorted((ROOT / "tests").rglob("*.py"))
    assert len(files) > 30
    wrong = {
        f.relative_to(ROOT).as_posix(): sorted(n for n in imported(f) if n.split(".")[0] == "tests")
        for f in files
    }
    assert {f: names for f, names in wrong.items() if names} == {}
