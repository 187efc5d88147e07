"""``kneegrade ensemble``: trained models graded together, written as one model directory.

The members must have learned from the same images and been measured on the same held-out
split, so the ensemble's card can say what it learned from and its metrics mean what they say.
A temperature is fitted on that split, as each member's was, and kept only where it makes the
ensemble's confidence more truthful.
"""

import time
from collections.abc import Sequence
from pathlib import Path

from kneegrade_ml.bundle import ModelLoadError, load_bundle, save_bundle
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.data.source import dataset_record
from kneegrade_ml.evaluation.metrics import compute_metrics
from kneegrade_ml.modelcard import model_reference
from kneegrade_ml.models.ensemble import EnsembleClassifier
from kneegrade_ml.models.outputs import softmax_with_temperature
from kneegrade_ml.provenance import hardware, source_revision
from kneegrade_ml.runtime import configure_cpu
from kneegrade_ml.training.calibration import calibrate
from kneegrade_ml.training.train import held_out_split

SHARED = ("counts", "file_list_sha256")
"""What every member's training record must agree on: the same images, split by split."""


def build_ensemble(
    members: Sequence[Path],
    data: Path,
    out: Path,
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Write the ensemble of the model directories ``members`` to ``out``, calibrated and
    measured on their held-out split of ``data``; returns its card."""
    configure_cpu()
    start = time.perf_counter()
    loaded = [load_bundle(directory) for directory in members]
    cards = [card for _, card in loaded]
    training = _shared_training(members, cards)
    try:
        classifier = EnsembleClassifier.of([classifier for classifier, _ in loaded])
    except (TypeError, ValueError) as err:
        raise ModelLoadError(f"cannot build the ensemble: {err}") from err
    split, samples = held_out_split(cards[0], data)
    pixels, labels = load_pixels(samples, classifier.spec, progress=progress)
    labels = labels.numpy()
    logits = classifier.pixel_logits(pixels).numpy()
    fitted = calibrate(logits, labels)
    temperature = fitted.kept_temperature
    classifier.config = classifier.config.with_temperature(temperature)
    probabilities = softmax_with_temperature(logits, temperature)
    members_seconds = sum(card["training"].get("seconds") or 0 for card in cards)
    card = {
        "training": {
            "command": command,
            "source": source_revision(),
            "data": str(Path(data).resolve()),
            "dataset": dataset_record(data),
            **{key: training[key] for key in SHARED},
            "members": [
                {**model_reference(d, c), "metrics": _scores(c)}
                for d, c in zip(members, cards, strict=True)
            ],
            "seconds": round(members_seconds + time.perf_counter() - start, 1),
            "seconds_note": "the members' training plus building the ensemble",
            "hardware": hardware("cpu"),
        },
        "metrics": {"split": split, **compute_metrics(labels, probabilities)},
        "calibration": fitted.to_dict(split),
    }
    return save_bundle(classifier, out, card)


def _shared_training(members: Sequence[Path], cards: Sequence[dict]) -> dict:
    """The training record the members share; members that learned from different images,
    or were measured on different splits (or on none), are refused."""
    first = cards[0].get("training") or {}
    if not all(first.get(key) for key in SHARED):
        raise ModelLoadError(
            f"{members[0]} does not record which images it learned from"
        )
    split = _split(cards[0])
    for directory, card in zip(members, cards, strict=True):
        training = card.get("training") or {}
        if any(training.get(key) != first.get(key) for key in SHARED):
            raise ModelLoadError(
                f"{directory} learned from other images than {members[0]}: an ensemble's"
                " members must share their training and held-out files"
            )
        if _split(card) != split:
            raise ModelLoadError(
                f"{directory} was measured on another split than {members[0]}"
            )
    if split is None:
        raise ModelLoadError(f"{members[0]} has no held-out metrics to calibrate on")
    return first


def _split(card: dict) -> str | None:
    return (card.get("metrics") or {}).get("split")


def _scores(card: dict) -> dict:
    """A member's own headline scores, as its card reports them."""
    metrics = card["metrics"]
    return {
        key: metrics[key] for key in ("split", "accuracy", "f1_macro", "qwk", "ece")
    }
