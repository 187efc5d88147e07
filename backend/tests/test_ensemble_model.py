"""An ensemble model directory serves through the API like any model: graded, listed with its
members, explained, and labelled by what its members learned from."""

import shutil
from pathlib import Path

import pytest
from api_helpers import register, upload
from fastapi.testclient import TestClient

from kneegrade_api.main import create_app
from kneegrade_ml.training.ensemble import build_ensemble

pytestmark = pytest.mark.slow


def test_an_ensemble_is_served_graded_and_explained(
    models_dir: Path, synthetic: Path, settings_for, sample_png: bytes, tmp_path: Path
) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(models_dir / "mobilenetv2", twin)
    served = tmp_path / "models"
    build_ensemble(
        [models_dir / "mobilenetv2", twin], synthetic, served / "pair", progress=False
    )
    with TestClient(create_app(settings_for(models_dir=served))) as client:
        account = register(client)
        (model,) = client.get("/api/models", headers=account.headers).json()
        assert model["kind"] == "ensemble" and model["kind_name"] == "Ensemble"
        assert len(model["card"]["training"]["members"]) == 2
        assert model["demo"] is True  # its members learned from synthetic knees
        made = upload(client, account, sample_png)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["model_kind"] == "ensemble" and sum(body["probabilities"]) == (
            pytest.approx(1.0)
        )
        assert body["model_warning"]
        heatmap = client.get(body["heatmap_url"], headers=account.headers)
        assert heatmap.status_code == 200
        assert heatmap.headers["content-type"] == "image/png"
