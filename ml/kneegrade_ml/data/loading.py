"""Load labelled images into memory at a model's input resolution."""

from collections.abc import Sequence

import torch
from tqdm import tqdm

from kneegrade_ml.data.folders import Sample
from kneegrade_ml.data.images import read_image
from kneegrade_ml.preprocess import InputSpec


def load_pixels(
    samples: Sequence[Sample],
    spec: InputSpec,
    desc: str = "reading images",
    progress=True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 pixels (N, 1, size, size) and int64 grades (N,) of ``samples``."""
    pixels = torch.empty((len(samples), 1, spec.size, spec.size), dtype=torch.uint8)
    for i, sample in enumerate(
        tqdm(samples, desc=desc, leave=False, disable=not progress)
    ):
        pixels[i] = spec.resize(read_image(sample.path))
    grades = torch.tensor([s.grade for s in samples], dtype=torch.int64)
    return pixels, grades
