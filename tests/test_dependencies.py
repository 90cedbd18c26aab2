"""Runtime dependencies are what the package imports; test oracles and benchmark tools are dev-only."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = {"scikit_posthocs": "scikit-posthocs", "psutil": "psutil"}


def _imported_top_level_modules() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "ponzoni_eval").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                found.setdefault(name.split(".")[0], []).append(str(path.relative_to(ROOT)))
    return found


def test_the_package_never_imports_a_dev_only_dependency():
    imported = _imported_top_level_modules()
    assert "pingouin" in imported  # the scan sees lazy imports inside functions too
    assert {module: imported[module] for module in DEV_ONLY if module in imported} == {}


def test_dev_only_dependencies_are_in_the_dev_group_not_the_runtime_list():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = {spec.split(">")[0].split("=")[0].split("[")[0].strip() for spec in pyproject["project"]["dependencies"]}
    dev = {spec.split(">")[0].split("=")[0].split("[")[0].strip() for spec in pyproject["dependency-groups"]["dev"]}
    assert not set(DEV_ONLY.values()) & runtime
    assert set(DEV_ONLY.values()) <= dev
