"""``kneegrade evaluate``: grade every image of a labelled folder and score the model."""

from pathlib import Path

from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.predictor import Predictor
from kneegrade_ml.runtime import configure_cpu


def evaluate_model(model: Path | str, data: Path | str, progress: bool = True) -> dict:
    """Metrics of the model directory ``model`` on ``data`` (a folder of grade folders 0-4)."""
    configure_cpu()
    predictor = Predictor(model)
    samples = scan_split(data)
    pixels, grades = load_pixels(samples, predictor.classifier.spec, progress=progress)
    probabilities = predictor.classifier.predict_pixels(pixels)
    return {
        "model": str(model),
        "kind": predictor.kind,
        "data": str(data),
        **compute_metrics(grades.numpy(), probabilities),
    }
