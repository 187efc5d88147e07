"""Grade every knee in a radiograph: localise the joints, crop each, grade and explain each crop.

This is what the API and ``kneegrade evaluate`` call. Without a localiser the whole image is one
knee, as before localisation existed.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from kneegrade_ml.localise.joints import Joint, crop_joint, is_whole_image, whole_image
from kneegrade_ml.localise.localiser import ImageHints, Localiser, is_roughly_square
from kneegrade_ml.predictor import Prediction, Predictor

AHEAD_MAX_SIDE = 1024
"""A roughly square image up to this side is graded whole while the localiser looks (most are
crops already: the training crops are 224 px); a larger one rarely is, and grading it for
nothing would cost more than waiting."""

_LOCALISING = ThreadPoolExecutor(thread_name_prefix="localise")


class NoKneeFound(ValueError):
    """The localiser found no knee joint in the image."""


@dataclass(frozen=True)
class GradedKnee:
    """One knee of an image: where it is, its grade, and its heatmap at the image's size (zero
    outside the knee's frame), so it overlays the whole radiograph."""

    joint: Joint
    prediction: Prediction
    heatmap: np.ndarray | None = None


def knee_crops(
    image: Image.Image, localiser: Localiser | None, hints: ImageHints | None = None
) -> list[tuple[Joint, Image.Image]]:
    """Each knee's frame and crop; NoKneeFound when the localiser sees none."""
    if localiser is None:
        return [(whole_image(image), image)]
    crops = localiser.crops(image, hints)
    if not crops:
        raise NoKneeFound(
            "no knee joint was found in the image: upload a knee radiograph"
            " (an AP or PA view of one or both knees)"
        )
    return crops


def grade_knees(
    predictor: Predictor,
    localiser: Localiser | None,
    image: Image.Image,
    hints: ImageHints | None = None,
    explain: bool = True,
) -> list[GradedKnee]:
    """Every knee of ``image`` graded (left to right on the image), with heatmaps if asked."""
    crops, predictions = _localise_and_grade(predictor, localiser, image, hints)
    return [
        GradedKnee(
            joint,
            prediction,
            explain_knee(predictor, image, joint, prediction.grade)
            if explain
            else None,
        )
        for (joint, _), prediction in zip(crops, predictions, strict=True)
    ]


def _localise_and_grade(
    predictor: Predictor,
    localiser: Localiser | None,
    image: Image.Image,
    hints: ImageHints | None,
) -> tuple[list[tuple[Joint, Image.Image]], list[Prediction]]:
    """Each knee's frame and crop, and its grade. An image that may be a crop already is graded
    whole while the localiser runs beside it; that grade is kept when the localiser agrees, so
    the answer is the same either way, only sooner."""
    if localiser is None or not _may_be_crop(image):
        crops = knee_crops(image, localiser, hints)
        return crops, predictor.predict_batch([crop for _, crop in crops])
    finding = _LOCALISING.submit(knee_crops, image, localiser, hints)
    whole = predictor.predict_batch([image])
    crops = finding.result()
    if len(crops) == 1 and crops[0][1] is image:
        return crops, whole
    return crops, predictor.predict_batch([crop for _, crop in crops])


def _may_be_crop(image: Image.Image) -> bool:
    return is_roughly_square(image) and max(image.size) <= AHEAD_MAX_SIDE


def knee_crop(image: Image.Image, joint: Joint) -> Image.Image:
    """The knee's crop, or the image itself when the joint's frame is the whole image (the
    upload was a crop already)."""
    if is_whole_image(joint, image):
        return image
    return crop_joint(image, joint)


def explain_knee(
    predictor: Predictor, image: Image.Image, joint: Joint, grade: int
) -> np.ndarray:
    """The heatmap for ``grade`` of the knee at ``joint``, at the image's size (zero outside
    the knee's frame): what the API stores, whenever it is made."""
    crop = knee_crop(image, joint)
    local = predictor.explain(crop, grade)
    return local if crop is image else place_heatmap(local, joint, image.size)


def place_heatmap(local: np.ndarray, joint: Joint, size: tuple[int, int]) -> np.ndarray:
    """A crop's heatmap put back where the crop came from, on a zero map of ``size`` (W, H)."""
    width, height = size
    full = np.zeros((height, width), np.float32)
    x, y, side, _ = (round(v) for v in joint.box)
    side = max(side, 1)
    resized = np.asarray(
        Image.fromarray(local.astype(np.float32), mode="F").resize(
            (side, side), Image.Resampling.BILINEAR
        )
    )
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + side, height), min(x + side, width)
    if bottom > top and right > left:
        full[top:bottom, left:right] = resized[
            top - y : bottom - y, left - x : right - x
        ]
    return full
