"""Knowledge distillation: what an ensemble of trained models says about each training image,
for one model, as fast as any other, to learn from (``TrainOptions.teachers``)."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from kneegrade_ml.bundle import read_card
from kneegrade_ml.data.folders import Sample
from kneegrade_ml.modelcard import ModelInfo
from kneegrade_ml.predictor import Predictor

CHUNK = 64
"""Images per teacher call: enough to keep every core busy, little memory."""


def teacher_probabilities(
    teachers: Sequence[str | Path], samples: Sequence[Sample], progress: bool = True
) -> torch.Tensor:
    """The teachers' mean probabilities (N, 5) on ``samples``, each teacher as it serves:
    its own input, flip averaging and calibration, on ONNX Runtime."""
    paths = [sample.path for sample in samples]
    total = np.zeros((len(paths), 5))
    for directory in teachers:
        predictor = Predictor(directory, engine="onnx")
        for start in tqdm(
            range(0, len(paths), CHUNK),
            desc=f"teacher {Path(directory).name}",
            leave=False,
            disable=not progress,
        ):
            chunk = paths[start : start + CHUNK]
            total[start : start + len(chunk)] += predictor.predict_proba(chunk)
    return torch.from_numpy(total / len(teachers)).float()


def teacher_records(teachers: Sequence[str | Path]) -> list[dict]:
    """Which models taught, for the model card: directory, name, version, kind and the
    weights' sha256, so the teachers can be told apart from any retrained copy."""
    records = []
    for directory in teachers:
        card = read_card(Path(directory))
        info = ModelInfo.from_card(card)
        weights = (card.get("files") or {}).get(card.get("weights"), {})
        records.append(
            {
                "directory": str(directory),
                "name": info.name,
                "version": info.version,
                "kind": card["kind"],
                "weights_sha256": weights.get("sha256"),
            }
        )
    return records
