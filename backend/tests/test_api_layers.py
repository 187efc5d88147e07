"""The API's layers, read from its imports: HTTP at the edge, one door into the ML package."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kneegrade_api"
SOURCES = sorted(PACKAGE.rglob("*.py"))
EDGE = {"errors.py", "deps.py", "limits.py", "main.py"}
"""Where HTTP status codes may be chosen, besides the routes."""


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", SOURCES, ids=_id)
def test_the_api_uses_the_ml_package_through_serving_alone(path: Path) -> None:
    ml = {m for m in imports(path) if m.startswith("kneegrade_ml")}
    assert all(m.startswith("kneegrade_ml.serving") for m in ml), ml


@pytest.mark.parametrize("path", sorted((PACKAGE / "routes").glob("*.py")), ids=_id)
def test_no_route_imports_another(path: Path) -> None:
    others = {m for m in imports(path) if m.startswith("kneegrade_api.routes.")}
    assert not others, others


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if "routes" not in p.parts and p.name not in EDGE],
    ids=_id,
)
def test_http_errors_are_raised_at_the_edge_only(path: Path) -> None:
    http = {m for m in imports(path) if m.endswith("HTTPException")}
    assert not http, (
        f"{path.name} raises HTTP errors below the routes: use exceptions.py"
    )
