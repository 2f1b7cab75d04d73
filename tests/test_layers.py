"""Imports flow one way (DESIGN.md "Architecture"): a layer imports only from layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "overopt"
# Shared by every layer: errors, metric names, version, tables/files/JSON helpers.
SHARED = {"errors", "metrics", "_version", "io"}
ORDER = ["core", "text", "models", "lab", "study", "audit", "monitor", "integrations", "report", "cli"]
RANK = {name: i for i, name in enumerate(ORDER)}
RANK["audit"] = RANK["study"]  # audit sits beside study
RANK["monitor"] = RANK["integrations"] = RANK["study"] + 1


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("overopt."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("overopt.")}
    return out


@pytest.mark.parametrize("layer", [name for name in ORDER if (SRC / name).is_dir()])
def test_layer_imports_only_from_layers_above(layer):
    bad = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for target in _imports(path) - SHARED - {layer}:
            if target in RANK and RANK[target] > RANK[layer]:
                bad.append(f"{path.relative_to(SRC)} imports overopt.{target}")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_core_math_imports_no_heavy_libraries():
    heavy = {"torch", "transformers", "trl", "ray", "pandas"}
    for path in (SRC / "core").glob("*.py"):
        if path.name == "preference.py":  # the torch preference losses (lab extra), documented in the module
            continue
        mods = {n.names[0].name.split(".")[0] for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Import)}
        mods |= {n.module.split(".")[0] for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.ImportFrom) and n.module}
        assert not mods & heavy, f"{path.name} imports {mods & heavy}"
