"""``kneegrade evaluate``: grade every image of a labelled folder and score the model.

With a localiser, each image is graded the way the API grades it: its knees found and cropped
first. An image that shows two knees is scored on the one its file name names (``...R.png``,
``..._left.png``), else on the more severe; one with no knee found is graded whole.
"""

import re
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from kneegrade_ml.data.folders import Sample, scan_split
from kneegrade_ml.data.images import read_image
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.knees import NoKneeFound, knee_crops
from kneegrade_ml.localise.joints import Joint
from kneegrade_ml.localise.localiser import Localiser
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.runtime import configure_cpu

_NAMED_SIDE = re.compile(r"(?:^|[^a-z])(right|left|r|l)$", re.IGNORECASE)


def evaluate_model(
    model: Path | str,
    data: Path | str,
    progress: bool = True,
    localiser: Localiser | None = None,
) -> dict:
    """Metrics of the model directory ``model`` on ``data`` (a folder of grade folders 0-4),
    each image's knees found and cropped by ``localiser`` first when one is given."""
    configure_cpu()
    predictor = Predictor(model, engine="onnx")  # as the server grades
    samples = scan_split(data)
    found: Counter[str] = Counter()
    if localiser is None:
        pixels, _ = load_pixels(samples, predictor.classifier.spec, progress=progress)
        probabilities = predictor.predict_pixels(pixels)
    else:
        probabilities = _localised_probabilities(
            predictor, localiser, samples, found, progress
        )
    grades = np.array([s.grade for s in samples])
    result = {
        "model": str(model),
        "kind": predictor.kind,
        "data": str(data),
        **compute_metrics(grades, probabilities),
    }
    if localiser is not None:
        result["localiser"] = {
            "directory": str(localiser.directory),
            "images": dict(found),
        }
    return result


def _localised_probabilities(
    predictor: Predictor,
    finder: Localiser,
    samples: list[Sample],
    found: Counter[str],
    progress: bool,
) -> np.ndarray:
    """Each sample's probabilities from the knee it is about; ``found`` counts how each went."""
    rows = []
    for sample in tqdm(
        samples, desc="localising and grading", leave=False, disable=not progress
    ):
        image = read_image(sample.path)
        try:
            crops = knee_crops(image, finder)
        except NoKneeFound:
            found["no knee found, graded whole"] += 1
            rows.append(predictor.predict_proba([image])[0])
            continue
        found[_outcome(image, crops)] += 1
        probabilities = predictor.predict_proba([crop for _, crop in crops])
        rows.append(probabilities[_chosen(sample, crops, probabilities)])
    return np.stack(rows)


Crops = list[tuple[Joint, Image.Image]]


def _outcome(image: Image.Image, crops: Crops) -> str:
    if len(crops) == 1 and crops[0][1] is image:
        return "a centred crop, graded whole"
    return "1 knee, cropped" if len(crops) == 1 else f"{len(crops)} knees"


def _chosen(sample: Sample, crops: Crops, probabilities: np.ndarray) -> int:
    """The knee the sample's label is for: the side its name gives, else the most severe."""
    named = _NAMED_SIDE.search(sample.path.stem)
    if named is not None and len(crops) > 1:
        side = "right" if named.group(1).lower().startswith("r") else "left"
        for index, (joint, _) in enumerate(crops):
            if joint.side == side:
                return index
    return int((probabilities @ np.arange(probabilities.shape[1])).argmax())
