"""Schema-driven fuzzing (schemathesis): requests generated from the OpenAPI schema, valid and
not, for every route, signed in; no answer may be a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_helpers import UNTHROTTLED, register
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from kneegrade_api.config import Settings
from kneegrade_api.main import create_app

pytestmark = pytest.mark.slow
EXAMPLES = 25
"""Cases per operation: enough to reach every validator, within a minute on 2 cores."""


@pytest.fixture(scope="module")
def fuzzed(
    rf_models_dir, synthetic, tmp_path_factory
) -> Iterator[tuple[FastAPI, dict]]:
    """The app, started, with the RF and a signed-in user's headers."""
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    settings = Settings(
        data_dir=data_dir,
        models_dir=[rf_models_dir],
        samples_dir=synthetic / "samples",
        frontend_dir=data_dir / "no-frontend",
        localiser_dir=None,
        **UNTHROTTLED,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, register(client).headers


def _operations() -> list:
    """Every operation of the schema (the app is built, not started, to read it)."""
    app = create_app(Settings(data_dir=Path("unused")))
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", _operations(), ids=lambda op: op.label)
def test_no_generated_request_is_a_server_error(operation, fuzzed) -> None:
    app, headers = fuzzed

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=operation.as_strategy())
    def check(case) -> None:
        response = case.call(app=app, headers=headers)
        assert response.status_code < 500, (
            case.method,
            case.formatted_path,
            response.text,
        )

    check()
