"""The layers of the ML package, read from its imports: ``models/`` is the bottom one."""

import ast
from importlib import import_module
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kneegrade_ml"
ABOVE_MODELS = ("training", "evaluation", "explain", "release", "bundle", "cli")


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at any depth (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "models").glob("*.py")), ids=str)
def test_models_import_nothing_from_the_layers_above(path: Path) -> None:
    above = {
        module
        for module in imported_modules(path)
        if module.startswith(tuple(f"kneegrade_ml.{layer}" for layer in ABOVE_MODELS))
    }
    assert not above, f"{path.name} imports {above}"


def test_the_registry_string_targets_exist() -> None:
    from kneegrade_ml.models.registry import REGISTRY

    for kind in REGISTRY.values():
        assert kind.classifier_class().kind == kind.kind
        if kind.pretrained:
            module, name = kind.pretrained.split(":")
            assert callable(getattr(import_module(module), name))
