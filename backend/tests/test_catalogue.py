"""The read-only catalogue: models with their cards, sample images, and health."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from api_helpers import Account, register, upload
from fastapi.testclient import TestClient

from kneegrade_api.main import create_app


def test_models_lists_every_loaded_model_with_its_card(
    api: TestClient, user: Account
) -> None:
    response = api.get("/api/models", headers=user.headers)
    assert response.status_code == 200
    models = {m["id"]: m for m in response.json()}
    assert set(models) == {"mobilenetv2", "cnn", "rf"}
    assert {m["name"] for m in models.values()} == {
        "MobileNetV2",
        "Custom CNN",
        "Random Forest",
    }
    assert [k for k, m in models.items() if m["default"]] == ["mobilenetv2"]
    mobilenet = models["mobilenetv2"]
    assert mobilenet["input"]["size"] == 224
    assert mobilenet["metrics"]["split"] == "test"
    assert 0 <= mobilenet["metrics"]["accuracy"] <= 1
    assert mobilenet["version"] == mobilenet["card"]["created"]
    assert "learning_rate" in mobilenet["hyperparameters"]
    assert mobilenet["training"]["counts"]["train"]["0"] == 4


def test_models_needs_a_token(api: TestClient) -> None:
    assert api.get("/api/models").status_code == 401


def test_samples_are_listed_and_downloadable(api: TestClient, synthetic: Path) -> None:
    samples = api.get("/api/samples").json()
    assert len(samples) == 10
    assert sorted({s["grade"] for s in samples}) == [0, 1, 2, 3, 4]
    first = samples[0]
    assert first["grade_name"] == "Normal"
    response = api.get(first["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert (
        response.content == (synthetic / "samples" / "0" / first["name"]).read_bytes()
    )


def test_unknown_or_sneaky_sample_names_are_404(api: TestClient) -> None:
    for name in ("nope.png", "..%2F..%2Flabels.csv", "labels.csv", "%2E%2E"):
        response = api.get(f"/api/samples/{name}")
        assert response.status_code == 404, name
        assert response.headers["content-type"] == "application/json"


def test_health_reports_every_model(api: TestClient) -> None:
    response = api.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"
    assert response.json()["models"] == {
        "mobilenetv2": "loaded",
        "cnn": "loaded",
        "rf": "loaded",
    }


def test_broken_model_is_reported_not_fatal(
    settings_for, rf_models_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(rf_models_dir / "rf", models / "rf")
    (models / "cnn").mkdir()
    (models / "cnn" / "model.json").write_text("{ this is not json")
    (models / "mobilenetv2").mkdir()
    (models / "mobilenetv2" / "model.json").write_text(json.dumps({"format": "other"}))
    with TestClient(create_app(settings_for(models_dir=models))) as client:
        health = client.get("/api/health").json()
        assert health["status"] == "degraded"
        assert health["models"]["rf"] == "loaded"
        assert health["models"]["cnn"].startswith("error: ")
        assert "not valid JSON" in health["models"]["cnn"]
        assert health["models"]["mobilenetv2"].startswith("error: ")
        account = register(client)
        assert [
            m["id"] for m in client.get("/api/models", headers=account.headers).json()
        ] == ["rf"]
        response = upload(client, account, b"unused", model="mobilenetv2")
        assert response.status_code == 503
        assert "mobilenetv2" in response.json()["detail"]
        response = upload(client, account, b"unused", model="no-such-model")
        assert response.status_code == 422
        assert "unknown model 'no-such-model'" in response.json()["detail"]


def test_no_models_at_all_still_serves(settings_for, tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(models_dir=tmp_path / "none"))) as client:
        health = client.get("/api/health").json()
        assert health["models"] == {"none": "missing"}
        assert health["status"] == "degraded"
        account = register(client)
        response = upload(client, account, b"unused")
        assert response.status_code == 503
        assert "no model is loaded" in response.json()["detail"]


def test_a_real_recipe_model_is_served_calibrated(
    settings_for, synthetic: Path, tmp_path: Path, sample_png: bytes
) -> None:
    """What `make train-real` writes (flip averaging, temperature) serves like any model."""
    import torch
    from torchvision.models import mobilenet_v2

    from kneegrade_ml.training.recipes import REAL_OPTIONS
    from kneegrade_ml.training.train import train_model

    torch.manual_seed(0)
    pretrained = tmp_path / "mobilenet_v2.pth"
    torch.save(mobilenet_v2().state_dict(), pretrained)
    options = replace(REAL_OPTIONS, epochs=1, trainable_from=17)
    models = tmp_path / "models-real"
    card = train_model(
        "mobilenetv2", synthetic, models / "mobilenetv2", options, pretrained, False
    )
    with TestClient(create_app(settings_for(models_dir=models))) as client:
        assert client.get("/api/health").json()["models"]["mobilenetv2"] == "loaded"
        account = register(client)
        served = client.get("/api/models", headers=account.headers).json()
        assert served[0]["card"]["calibration"] == card["calibration"]
        response = upload(client, account, sample_png, model="mobilenetv2")
        assert response.status_code == 201, response.text
        assert sum(response.json()["probabilities"]) == pytest.approx(1.0)
