"""Knowledge distillation: what an ensemble of trained models says about each training image,
for one model, as fast as any other, to learn from (``TrainOptions.teachers``).

The teachers' pass is the slow part on a CPU, so it can be saved once (``kneegrade teach``) and
given to every seed, or to a machine that has the images but not the teachers."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.folders import Sample, file_list_sha256
from kneegrade_ml.data.folds import Fold, fold_numbers
from kneegrade_ml.data.images import read_image
from kneegrade_ml.modelcard import model_reference, recorded_file_list
from kneegrade_ml.predictor import Predictor

CHUNK = 64
"""Images per teacher call: enough to keep every core busy, little memory."""


def sample_key(sample: Sample) -> str:
    """How a saved teaching names an image: grade folder and file name, as the data set has it."""
    return f"{sample.grade}/{sample.path.name}"


@dataclass(frozen=True)
class Teaching:
    """The teachers' mean probabilities (N, 5) on the training images, and who they are."""

    probabilities: torch.Tensor
    teachers: list[dict]

    def save(self, path: Path, samples: Sequence[Sample]) -> None:
        """Write it as JSON, each image's probabilities under its ``sample_key``."""
        rows = self.probabilities.tolist()
        document = {
            "teachers": self.teachers,
            "probabilities": {
                sample_key(s): [round(p, 6) for p in row]
                for s, row in zip(samples, rows, strict=True)
            },
        }
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(document, indent=1))


def load_teaching(path: Path, samples: Sequence[Sample]) -> Teaching:
    """A teaching ``Teaching.save`` wrote, in the order of ``samples``; every one must be in it."""
    try:
        document = json.loads(Path(path).read_text())
        saved, teachers = document["probabilities"], document["teachers"]
    except (ValueError, KeyError, TypeError) as err:
        raise DatasetError(
            f"{path} is not a teaching written by kneegrade teach"
        ) from err
    keys = [sample_key(s) for s in samples]
    missing = [key for key in keys if key not in saved]
    if missing:
        raise DatasetError(
            f"{path} has no teachers' probabilities for {len(missing)} training images"
            f" (e.g. {missing[0]}): run kneegrade teach on this data set"
        )
    rows = [saved[key] for key in keys]
    return Teaching(torch.tensor(rows, dtype=torch.float32), teachers)


def teach(
    teachers: Sequence[str | Path],
    samples: Sequence[Sample],
    progress: bool = True,
    cross_fit: bool = False,
) -> Teaching:
    """Each teacher grades ``samples`` as it serves (its own input, flip averaging and
    calibration, on ONNX Runtime); the probabilities are averaged. Each image is read once
    for all teachers. Each teacher is recorded from the card of the weights it loaded, so a
    model released over it later cannot be mistaken for it.

    ``cross_fit``: teacher K of N grades only fold K of N (``data.folds``), the images it was
    trained without, so no image is graded by a teacher that learned its label.
    """
    predictors = [Predictor(directory, engine="onnx") for directory in teachers]
    records = [
        model_reference(d, p.card) for d, p in zip(teachers, predictors, strict=True)
    ]
    graders = np.ones((len(teachers), len(samples)), dtype=bool)
    if cross_fit:
        graders = held_out_masks(teachers, [p.card for p in predictors], samples)
        for number, record in enumerate(records):
            record["held_out_fold"] = str(Fold(number, len(teachers)))
    paths = [sample.path for sample in samples]
    total = np.zeros((len(paths), 5))
    for start in tqdm(
        range(0, len(paths), CHUNK), desc="teachers", leave=False, disable=not progress
    ):
        chunk = slice(start, start + CHUNK)
        images = [read_image(path) for path in paths[chunk]]
        for predictor, grading in zip(predictors, graders[:, chunk], strict=True):
            rows = np.flatnonzero(grading)
            if len(rows):
                graded = predictor.predict_proba([images[i] for i in rows])
                total[start + rows] += graded
    mean = total / graders.sum(0)[:, None]
    return Teaching(torch.from_numpy(mean).float(), records)


def held_out_masks(
    teachers: Sequence[str | Path], cards: Sequence[dict], samples: Sequence[Sample]
) -> np.ndarray:
    """Which samples each of N cross-fitting teachers grades: teacher K, fold K of N, after
    checking from its card that it trained on exactly the other folds of ``samples``."""
    if len(teachers) < 2:
        raise DatasetError("cross-fitted teaching needs a teacher for each of 2+ folds")
    numbers = fold_numbers(samples, len(teachers))
    for number, (teacher, card) in enumerate(zip(teachers, cards, strict=True)):
        outside = [s for s, n in zip(samples, numbers, strict=True) if n != number]
        if recorded_file_list(card, "train") != file_list_sha256(outside):
            raise DatasetError(
                f"teacher {number + 1}, {teacher}, was not trained on these images without"
                f" fold {Fold(number, len(teachers))}"
                f" (kneegrade train --held-out-fold {number}/{len(teachers)})"
            )
    return numbers[None, :] == np.arange(len(teachers))[:, None]


def teaching_for(
    teachers: Sequence[str | Path], samples: Sequence[Sample], progress: bool = True
) -> Teaching:
    """The teaching ``--teachers`` names: a saved one (a single file), else the models' own pass."""
    if len(teachers) == 1 and Path(teachers[0]).is_file():
        return load_teaching(Path(teachers[0]), samples)
    return teach(teachers, samples, progress)
