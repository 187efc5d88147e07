"""Honest labels: every grade names its model, version and training data; demos say so."""

import io
import json
import shutil
from pathlib import Path

import pytest
from api_helpers import register, upload
from fastapi.testclient import TestClient
from pypdf import PdfReader

from kneegrade_api.main import create_app
from kneegrade_ml.modelcard import DEMO_NOTE
from kneegrade_ml.training.loop import TrainOptions
from kneegrade_ml.training.train import train_model


@pytest.fixture(scope="module")
def real_models(synthetic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on a folder that says it holds real radiographs (its SOURCE.md)."""
    data = tmp_path_factory.mktemp("real") / "knee"
    shutil.copytree(synthetic / "train", data / "train")
    shutil.copytree(synthetic / "test", data / "val")
    (data / "SOURCE.md").write_text("# Knee KL\n\ndoi:10.17632/56rmx5bjcr.1\n")
    root = tmp_path_factory.mktemp("released")
    options = TrainOptions(n_estimators=10)
    train_model("rf", data, root / "rf-chen2018", options, progress=False)
    return root


@pytest.fixture
def both(settings_for, real_models: Path, rf_models_dir: Path):
    """The real-data model and the synthetic demo, served side by side."""
    settings = settings_for(models_dir=[real_models, rf_models_dir])
    with TestClient(create_app(settings)) as client:
        yield client


def test_models_say_what_they_learned_from_and_the_real_one_is_default(both) -> None:
    account = register(both)
    models = both.get("/api/models", headers=account.headers).json()
    assert [m["id"] for m in models] == ["rf-chen2018", "rf"]
    real, demo = models
    assert real["default"] and not demo["default"]
    assert real["data_kind"] == "real" and not real["demo"] and real["warning"] is None
    assert real["trained_on"].startswith("real knee radiographs")
    assert real["metrics_on"].startswith("val split of real knee radiographs")
    assert demo["data_kind"] == "synthetic" and demo["demo"]
    assert demo["warning"] == DEMO_NOTE
    assert demo["metrics_on"].startswith("test split of synthetic knee images")


def test_the_newest_real_release_is_the_default(
    settings_for,
    real_models: Path,
    rf_models_dir: Path,
    tmp_path: Path,
    sample_png: bytes,
) -> None:
    models = tmp_path / "models"
    for model_id, version in (("a-chen2018", "1.9.0"), ("b-chen2018", "1.10.0")):
        shutil.copytree(real_models / "rf-chen2018", models / model_id)
        card_file = models / model_id / "model.json"
        card = json.loads(card_file.read_text())
        card_file.write_text(json.dumps({**card, "version": version}))
    settings = settings_for(models_dir=[models, rf_models_dir])
    with TestClient(create_app(settings)) as client:
        account = register(client)
        listed = client.get("/api/models", headers=account.headers).json()
        made = upload(client, account, sample_png).json()
    assert [(m["id"], m["default"]) for m in listed] == [
        ("b-chen2018", True),
        ("a-chen2018", False),
        ("rf", False),
    ]
    assert made["model"] == "b-chen2018" and made["model_version"] == "1.10.0"


def test_each_grade_names_its_model_and_data(both, sample_png: bytes) -> None:
    account = register(both)
    real = upload(both, account, sample_png).json()
    assert real["model"] == "rf-chen2018" and real["model_kind"] == "rf"
    assert real["model_data_kind"] == "real" and real["model_warning"] is None
    assert real["model_trained_on"].startswith("real knee radiographs")
    demo = upload(both, account, sample_png, model="rf").json()
    assert demo["model_data_kind"] == "synthetic"
    assert demo["model_warning"] == DEMO_NOTE
    assert demo["model_trained_on"].startswith("synthetic knee images")
    history = both.get("/api/predictions", headers=account.headers).json()["items"]
    assert [p["model_warning"] for p in history] == [DEMO_NOTE, None]


def test_the_report_of_a_demo_grade_says_it_is_not_validated(
    both, sample_png: bytes
) -> None:
    account = register(both)
    texts = {}
    for model in ("rf", "rf-chen2018"):
        made = upload(both, account, sample_png, model=model).json()
        pdf = both.get(made["report_url"], headers=account.headers)
        texts[model] = " ".join(
            PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split()
        )
    assert "Not a validated grade" in texts["rf"]
    assert "cannot grade real radiographs" in texts["rf"]
    assert "synthetic knee images" in texts["rf"]
    assert "Not a validated grade" not in texts["rf-chen2018"]
    assert "real knee radiographs" in texts["rf-chen2018"]


def test_a_tampered_weight_file_is_refused_and_named(
    settings_for, rf_models_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(rf_models_dir, models)
    weights = models / "rf" / "model.joblib"
    weights.write_bytes(weights.read_bytes()[:-10])
    card = json.loads((models / "rf" / "model.json").read_text())
    assert card["files"]["model.joblib"]["sha256"]
    with TestClient(create_app(settings_for(models_dir=models))) as client:
        health = client.get("/api/health").json()
    assert health["status"] == "degraded"
    assert "does not match the sha256" in health["models"]["rf"]
    assert "model.joblib" in health["models"]["rf"]


RELEASED_MODELS = Path(__file__).resolve().parents[2] / "models"
"""What ``make run`` and the Docker image serve by default (``KNEEGRADE_MODELS_DIR=models``)."""


def test_the_default_install_grades_with_the_released_real_model(
    settings_for, sample_png: bytes
) -> None:
    card = json.loads(
        (RELEASED_MODELS / "efficientnet-lite2-chen2018" / "model.json").read_text()
    )
    with TestClient(create_app(settings_for(models_dir=RELEASED_MODELS))) as client:
        assert client.get("/api/health").json()["status"] == "ok"
        account = register(client)
        model, *superseded = client.get("/api/models", headers=account.headers).json()
        assert model["id"] == "efficientnet-lite2-chen2018" and model["default"]
        assert model["version"] == card["version"] and model["data_kind"] == "real"
        assert model["intended_use"] and model["limitations"] and model["changelog"]
        assert [m["id"] for m in superseded] == [
            "efficientnet-lite0-chen2018",
            "mobilenetv2-chen2018",
        ]
        assert all(m["data_kind"] == "real" and not m["default"] for m in superseded)
        assert [m["precision"] for m in superseded] == ["float32", "float32"]
        made = upload(client, account, sample_png).json()
        pinned = upload(client, account, sample_png, model="mobilenetv2-chen2018")
    assert pinned.json()["model_version"] == "1.1.0"
    assert made["model"] == "efficientnet-lite2-chen2018"
    assert made["model_version"] == card["version"]
    assert made["model_name"] == card["name"] and made["model_warning"] is None
