"""The released real-radiograph model in models/: it loads, proves its weights and grades."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kneegrade_ml.bundle import load_bundle, sha256_file
from kneegrade_ml.modelcard import ModelInfo
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.release import SEMVER
from kneegrade_ml.synth.params import sample_params
from kneegrade_ml.synth.render import render_knee

RELEASED = Path(__file__).resolve().parents[2] / "models" / "mobilenetv2-chen2018"


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((RELEASED / "model.json").read_text())


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


def test_every_weight_file_matches_its_sha256(card: dict) -> None:
    for name, record in card["files"].items():
        assert sha256_file(RELEASED / name) == record["sha256"]
    total = sum(p.stat().st_size for p in RELEASED.parent.rglob("*") if p.is_file())
    assert total < 30 * 1024 * 1024


def test_it_grades_a_knee_to_a_valid_result(card: dict) -> None:
    classifier, _ = load_bundle(RELEASED)
    assert classifier.config.temperature == card["calibration"]["temperature"]
    rng = np.random.default_rng(3)
    knee = render_knee(sample_params(2, rng), rng)
    prediction = Predictor(RELEASED).predict(Image.fromarray(knee))
    assert 0 <= prediction.grade <= 4
    assert sum(prediction.probabilities) == pytest.approx(1.0)
    assert prediction.confidence == max(prediction.probabilities)
