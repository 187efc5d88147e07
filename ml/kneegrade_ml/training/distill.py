"""Knowledge distillation: what an ensemble of trained models says about each training image,
for one model, as fast as any other, to learn from (``TrainOptions.teachers``)."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from kneegrade_ml.data.folders import Sample
from kneegrade_ml.data.images import read_image
from kneegrade_ml.modelcard import model_reference
from kneegrade_ml.predictor import Predictor

CHUNK = 64
"""Images per teacher call: enough to keep every core busy, little memory."""


@dataclass(frozen=True)
class Teaching:
    """The teachers' mean probabilities (N, 5) on the training images, and who they are."""

    probabilities: torch.Tensor
    teachers: list[dict]


def teach(
    teachers: Sequence[str | Path], samples: Sequence[Sample], progress: bool = True
) -> Teaching:
    """Each teacher grades ``samples`` as it serves (its own input, flip averaging and
    calibration, on ONNX Runtime); the probabilities are averaged. Each image is read once
    for all teachers. Each teacher is recorded from the card of the weights it loaded, so a
    model released over it later cannot be mistaken for it."""
    predictors = [Predictor(directory, engine="onnx") for directory in teachers]
    paths = [sample.path for sample in samples]
    total = np.zeros((len(paths), 5))
    for start in tqdm(
        range(0, len(paths), CHUNK), desc="teachers", leave=False, disable=not progress
    ):
        images = [read_image(path) for path in paths[start : start + CHUNK]]
        for predictor in predictors:
            total[start : start + len(images)] += predictor.predict_proba(images)
    records = [
        model_reference(d, p.card) for d, p in zip(teachers, predictors, strict=True)
    ]
    return Teaching(torch.from_numpy(total / len(teachers)).float(), records)
