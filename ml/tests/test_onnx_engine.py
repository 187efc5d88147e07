"""Serving through ONNX Runtime: the same probabilities as torch, and torch when it cannot."""

from __future__ import annotations

import numpy as np
import pytest

from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.images import read_image
from kneegrade_ml.models.registry import trainable_kinds
from kneegrade_ml.predictor import Predictor

NETWORKS = [kind for kind in trainable_kinds() if kind != "rf"]


@pytest.mark.parametrize("kind", NETWORKS)
def test_onnx_grades_like_torch(trained_models, tiny_synthetic, kind):
    images = [read_image(s.path) for s in scan_split(tiny_synthetic / "test")]
    torch_served = Predictor(trained_models[kind])
    onnx_served = Predictor(trained_models[kind], engine="onnx")
    assert onnx_served.engine == "onnx"
    expected = torch_served.predict_proba(images)
    served = onnx_served.predict_proba(images)
    np.testing.assert_allclose(served, expected, atol=1e-4)
    assert (served.argmax(1) == expected.argmax(1)).all()


def test_the_forest_and_a_torch_predictor_stay_on_their_own_engines(trained_models):
    assert Predictor(trained_models["rf"], engine="onnx").engine == "torch"
    assert Predictor(trained_models["cnn"]).engine == "torch"


def test_a_network_that_disagrees_with_torch_is_served_by_torch(
    trained_models, monkeypatch
):
    monkeypatch.setattr("kneegrade_ml.onnx_engine.parity", lambda *_: 0.5)
    assert Predictor(trained_models["cnn"], engine="onnx").engine == "torch"


def test_a_network_that_fails_on_onnx_runtime_is_served_by_torch(
    trained_models, monkeypatch
):
    def fails(*_):
        raise RuntimeError("Non-zero status code returned while running Split node")

    monkeypatch.setattr("kneegrade_ml.onnx_engine.parity", fails)
    assert Predictor(trained_models["cnn"], engine="onnx").engine == "torch"


def test_an_unknown_engine_is_refused(trained_models):
    with pytest.raises(ValueError, match="unknown engine 'tensorrt'"):
        Predictor(trained_models["rf"], engine="tensorrt")
