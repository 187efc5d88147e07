"""Heatmaps: the image's size, in [0, 1], image-dependent for the networks, lossless-enough PNGs."""

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision.models import mobilenet_v2

from kneegrade_ml.explain.heatmaps import explain
from kneegrade_ml.explain.render import (
    colour_layer_png,
    heatmap_png,
    overlay_png,
    read_heatmap_png,
)
from kneegrade_ml.models.mobilenet import MobileNetV2Classifier
from kneegrade_ml.models.registry import model_kind
from kneegrade_ml.predictor import Predictor

KINDS = ["mobilenetv2", "cnn", "rf"]


@pytest.fixture(scope="module")
def predictors(trained_models) -> dict[str, Predictor]:
    return {kind: Predictor(trained_models[kind]) for kind in KINDS}


@pytest.fixture(scope="module")
def knees(tiny_synthetic) -> tuple[Image.Image, Image.Image]:
    """A normal and a severe synthetic knee: clearly different images."""
    return tuple(
        Image.open(next(tiny_synthetic.glob(f"samples/{g}/*.png"))) for g in (0, 4)
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [(224, 224), (300, 170), (90, 211)])
def test_heatmap_has_the_image_size_and_lies_in_0_1(predictors, knees, kind, size):
    heatmap = predictors[kind].explain(knees[1].resize(size))
    assert heatmap.shape == (size[1], size[0])
    assert heatmap.dtype == np.float32
    assert np.isfinite(heatmap).all()
    assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    assert heatmap.max() > 0.5


def test_predictor_decodes_paths_and_bytes(predictors, tiny_synthetic):
    path = next(tiny_synthetic.glob("samples/2/*.png"))
    from_path = predictors["cnn"].explain(path)
    np.testing.assert_array_equal(
        from_path, predictors["cnn"].explain(path.read_bytes())
    )
    assert from_path.shape == Image.open(path).size[::-1]


def _mobilenet(data: Path, trainable_from: int = 14) -> MobileNetV2Classifier:
    """A random MobileNetV2 with BatchNorm statistics measured on the tiny set.

    With random weights the activations shrink block by block, so that the trunk's output hardly
    depends on the image (the trained fixture's is ~1e-6); measured statistics keep them at scale,
    as ImageNet's do.
    """
    torch.manual_seed(0)
    config = replace(model_kind("mobilenetv2").config, trainable_from=trainable_from)
    classifier = MobileNetV2Classifier(config, backbone=mobilenet_v2())
    images = [Image.open(path) for path in sorted(data.glob("samples/*/*.png"))]
    batch_norms = [
        m for m in classifier.network.modules() if isinstance(m, nn.BatchNorm2d)
    ]
    for batch_norm in batch_norms:
        batch_norm.reset_running_stats()
        batch_norm.momentum = None
        batch_norm.train()
    with torch.no_grad():
        classifier.network(
            classifier.spec.normalize(classifier.spec.resize_all(images))
        )
    classifier.network.eval()
    return classifier


def test_network_heatmaps_respond_to_the_image(predictors, tiny_synthetic, knees):
    for classifier in (predictors["cnn"].classifier, _mobilenet(tiny_synthetic)):
        normal, severe = (explain(classifier, knee) for knee in knees)
        assert np.abs(normal - severe).mean() > 0.05, classifier.kind


@pytest.mark.parametrize("kind", ["mobilenetv2", "cnn"])
def test_default_grade_is_the_top_grade(predictors, knees, kind):
    predictor = predictors[kind]
    top = predictor.predict(knees[1]).grade  # no flip averaging in the tiny models
    np.testing.assert_array_equal(
        predictor.explain(knees[1]), predictor.explain(knees[1], grade=top)
    )


def test_forest_map_is_its_pixel_importances_for_any_image(predictors, knees):
    forest = predictors["rf"].classifier.model
    importances = forest.feature_importances_.reshape(128, 128)
    expected = importances / importances.max()
    for knee in knees:
        heatmap = predictors["rf"].explain(knee.resize((128, 128)))
        np.testing.assert_allclose(heatmap, expected, atol=1e-6)
    wide = [predictors["rf"].explain(knee.resize((256, 140))) for knee in knees]
    np.testing.assert_array_equal(*wide)


@pytest.mark.parametrize(
    ("trainable_from", "freeze_all"),
    [(14, False), (0, False), (14, True)],
    ids=["frozen trunk", "all trainable", "nothing trainable"],
)
def test_mobilenet_is_left_as_it_was(tiny_synthetic, knees, trainable_from, freeze_all):
    classifier = _mobilenet(tiny_synthetic, trainable_from)
    network = classifier.network
    if freeze_all:
        network.requires_grad_(False)
    flags = [p.requires_grad for p in network.parameters()]
    heatmap = explain(classifier, knees[1])
    assert heatmap.shape == (224, 224) and heatmap.max() > 0.5
    assert [p.requires_grad for p in network.parameters()] == flags
    assert all(p.grad is None for p in network.parameters())
    assert not any(m.training for m in network.modules())


def test_png_round_trip_is_within_one_level():
    heatmap = np.random.default_rng(0).random((37, 53), dtype=np.float32)
    data = heatmap_png(heatmap)
    assert Image.open(io.BytesIO(data)).mode == "L"
    restored = read_heatmap_png(data)
    assert restored.shape == heatmap.shape and restored.dtype == np.float32
    assert np.abs(restored - heatmap).max() <= 1 / 255


def test_colour_layer_is_see_through_where_cold():
    heatmap = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (16, 1))
    layer = Image.open(io.BytesIO(colour_layer_png(heatmap)))
    assert layer.mode == "RGBA" and layer.size == (64, 16)
    alpha = np.asarray(layer)[..., 3]
    assert (alpha[:, 0] == 0).all() and (alpha[:, -1] == 255).all()
    assert (np.diff(alpha.astype(int), axis=1) >= 0).all()


def test_overlay_has_the_image_size_and_leaves_cold_areas_gray(knees):
    xray = knees[0].resize((150, 90))
    heatmap = np.zeros((90, 150), dtype=np.float32)
    heatmap[:, 75:] = 1.0
    overlay = Image.open(io.BytesIO(overlay_png(xray, heatmap)))
    assert overlay.mode == "RGB" and overlay.size == xray.size
    pixels = np.asarray(overlay).astype(int)
    gray = np.asarray(xray.convert("L")).astype(int)
    for channel in range(3):
        np.testing.assert_array_equal(pixels[:, :70, channel], gray[:, :70])
    assert (pixels[:, 80:] != gray[:, 80:, None]).any()
