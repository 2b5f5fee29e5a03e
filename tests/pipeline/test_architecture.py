"""Imports are one-way: pipeline -> features, models; only pipeline touches mlflow/typer/yaml."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIDE_EFFECT_LIBS = {"pipeline", "mlflow", "typer", "yaml", "dvc"}
FORBIDDEN = {
    "features": SIDE_EFFECT_LIBS | {"models"},
    "models": SIDE_EFFECT_LIBS | {"features"},
    "clinical": SIDE_EFFECT_LIBS | {"features", "models"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_are_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"package {package} has no modules"
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imported_roots(f) & FORBIDDEN[package]) for f in files
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"forbidden imports (see DESIGN.md §3): {offenders}"


def test_import_scanner_sees_both_import_forms(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import yaml\nfrom mlflow.tracking import MlflowClient\nfrom . import x\n")
    assert _imported_roots(probe) == {"yaml", "mlflow"}
