"""Grading every knee of an image: grading ahead of the localiser, and grades side by side, give
the answers the plain order gives."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kneegrade_ml.knees import NoKneeFound, grade_knees, knee_crops
from kneegrade_ml.localise.localiser import Localiser
from kneegrade_ml.localise.scenes import blank, framed
from kneegrade_ml.localise.training import synthetic_crops
from kneegrade_ml.predictor import Predictor

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def localiser() -> Localiser:
    return Localiser(REPO / "localiser", engine="onnx")


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    served = Predictor(REPO / "models" / "efficientnet-lite2-chen2018", engine="onnx")
    assert served.engine == "onnx"
    return served


@pytest.fixture(scope="module")
def knees() -> np.ndarray:
    return synthetic_crops(4, seed=11).pixels


def _in_order(predictor, localiser, image):
    """Localise first, then grade the crops: the order grading ahead must agree with."""
    crops = knee_crops(image, localiser)
    return [joint for joint, _ in crops], predictor.predict_proba(
        [crop for _, crop in crops]
    )


def _scenes(knees: np.ndarray) -> dict[str, Image.Image]:
    rng = np.random.default_rng(2)
    return {
        "a crop, graded ahead and kept": Image.fromarray(knees[0]),
        "square, graded ahead and dropped": Image.fromarray(
            framed(knees[1], "right", (150, 150, 150, 150), rng).image
        ),
        "wide, not graded ahead": Image.fromarray(
            framed(knees[2], "left", (20, 20, 200, 200), rng).image
        ),
    }


def test_grading_ahead_of_the_localiser_gives_the_localised_answer(
    predictor, localiser, knees
):
    for name, image in _scenes(knees).items():
        graded = grade_knees(predictor, localiser, image, explain=False)
        joints, expected = _in_order(predictor, localiser, image)
        assert [knee.joint for knee in graded] == joints, name
        served = np.array([knee.prediction.probabilities for knee in graded])
        np.testing.assert_allclose(served, expected, atol=1e-6, err_msg=name)


def test_a_square_image_without_a_knee_is_refused_when_graded_ahead(
    predictor, localiser
):
    image = Image.fromarray(blank((256, 256), np.random.default_rng(5)).image)
    with pytest.raises(NoKneeFound, match="no knee joint"):
        grade_knees(predictor, localiser, image, explain=False)


def test_grades_run_side_by_side_give_the_serial_answers(predictor, localiser, knees):
    images = [Image.fromarray(k) for k in knees] * 3
    serial = [grade_knees(predictor, localiser, im, explain=False)[0] for im in images]
    with ThreadPoolExecutor(8) as pool:
        together = list(
            pool.map(
                lambda im: grade_knees(predictor, localiser, im, explain=False)[0],
                images,
            )
        )
    for alone, beside in zip(serial, together, strict=True):
        assert beside.joint == alone.joint
        np.testing.assert_allclose(
            beside.prediction.probabilities, alone.prediction.probabilities, atol=1e-6
        )
