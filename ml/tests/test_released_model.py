"""The released real-radiograph models in models/ (the default and the releases it superseded):
each loads, proves its weights and grades."""

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kneegrade_ml.bundle import load_bundle, sha256_file
from kneegrade_ml.modelcard import ModelInfo
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.release import SEMVER
from kneegrade_ml.runtime import exact_int8_kernels
from kneegrade_ml.synth.params import sample_params
from kneegrade_ml.synth.render import render_knee

MODELS = Path(__file__).resolve().parents[2] / "models"
RELEASES = [
    "efficientnet-lite2-chen2018",
    "efficientnet-lite0-chen2018",
    "mobilenetv2-chen2018",
]
"""Newest first: each release superseded the next."""


@pytest.fixture(scope="module", params=RELEASES)
def released(request: pytest.FixtureRequest) -> Path:
    return MODELS / request.param


@pytest.fixture(scope="module")
def card(released: Path) -> dict:
    return json.loads((released / "model.json").read_text())


def test_models_holds_the_releases_and_each_supersedes_the_next() -> None:
    assert sorted(p.name for p in MODELS.iterdir() if p.is_dir()) == sorted(RELEASES)
    for newer, older in pairwise(RELEASES):
        card = json.loads((MODELS / newer / "model.json").read_text())
        superseded = card["release"]["supersedes"]
        assert superseded["id"] == older
        assert superseded["version"] in list(card["changelog"])[1:]


def test_the_card_is_versioned_attributed_and_measured(card: dict) -> None:
    assert SEMVER.match(card["version"]) and card["version"] in card["changelog"]
    dataset = card["training"]["dataset"]
    assert dataset["kind"] == "real" and dataset["licence"].startswith("CC BY 4.0")
    assert "doi: 10.17632/56rmx5bjcr.1" in dataset["citation"]
    assert "not a diagnosis" in card["intended_use"].lower()
    assert card["metrics"]["split"] == "val" and card["metrics"]["n"] == 826
    assert card["data_use"]["test"].startswith("not used")  # kept back for the check
    assert set(card["metrics"]["ci95"]) >= {"accuracy", "f1_macro", "qwk", "mae", "ece"}
    assert sum(card["training"]["counts"]["train"].values()) == 5778
    assert card["training"]["source"]["commit"]
    assert card["training"]["command"].startswith("kneegrade train")
    assert not ModelInfo.from_card(card).demo


def test_every_weight_file_matches_its_sha256(released: Path, card: dict) -> None:
    for name, record in card["files"].items():
        assert sha256_file(released / name) == record["sha256"]
    total = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file())
    assert total < 50 * 1024 * 1024  # three releases and the default's int8 network


def test_the_default_release_is_served_as_int8_where_int8_is_exact() -> None:
    default = MODELS / RELEASES[0]
    card = json.loads((default / "model.json").read_text())
    assert card["serving"]["int8"]["file"] in card["files"]
    served = Predictor(default, engine="onnx")
    assert served.precision == ("int8" if exact_int8_kernels() else "float32")
    rng = np.random.default_rng(0)
    image = Image.fromarray(render_knee(sample_params(3, rng), rng))
    assert 0 <= served.predict(image).grade <= 4


def test_it_grades_a_knee_to_a_valid_result(released: Path, card: dict) -> None:
    classifier, _ = load_bundle(released)
    assert classifier.config.temperature == card["calibration"]["temperature"]
    rng = np.random.default_rng(3)
    knee = render_knee(sample_params(2, rng), rng)
    prediction = Predictor(released).predict(Image.fromarray(knee))
    assert 0 <= prediction.grade <= 4
    assert sum(prediction.probabilities) == pytest.approx(1.0)
    assert prediction.confidence == max(prediction.probabilities)
