"""Temperature scaling fixes over-confidence without changing any grade."""

import numpy as np
import pytest

from kneegrade_ml.evaluation.metrics import expected_calibration_error
from kneegrade_ml.training.calibration import (
    calibrate,
    fit_temperature,
    softmax_with_temperature,
)


def _overconfident(n: int = 2000, sharpen: float = 4.0, seed: int = 0):
    """Labels drawn from well-calibrated probabilities, then logits made ``sharpen`` x sharper."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(size=(n, 5)) * 1.5
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(5, p=row) for row in p])
    return true_logits * sharpen, labels


def test_recovers_the_sharpening_factor():
    logits, labels = _overconfident(sharpen=4.0)
    assert fit_temperature(logits, labels) == pytest.approx(4.0, rel=0.15)


def test_well_calibrated_logits_keep_temperature_near_one():
    logits, labels = _overconfident(sharpen=1.0, seed=1)
    assert fit_temperature(logits, labels) == pytest.approx(1.0, rel=0.15)


def test_calibration_lowers_ece_and_keeps_the_argmax():
    logits, labels = _overconfident(sharpen=3.0, seed=2)
    result = calibrate(logits, labels)
    assert result.ece_after < result.ece_before / 2
    assert result.ece_after_cross_fitted < result.ece_before / 2
    before = softmax_with_temperature(logits, 1.0)
    after = softmax_with_temperature(logits, result.temperature)
    assert (before.argmax(1) == after.argmax(1)).all()
    assert expected_calibration_error(labels, after) == pytest.approx(result.ece_after)
    np.testing.assert_allclose(after.sum(1), 1.0)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="logits"):
        fit_temperature(np.zeros((3, 5)), np.zeros(2, dtype=int))
