"""Shared fixtures for the data tests: tiny graded image folders built in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _write_png(path: Path, value: int = 128, size: tuple[int, int] = (8, 8)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def write_png() -> Callable[..., Path]:
    """``write_png(path, value=128)`` writes a tiny constant 8-bit PNG (parents created)."""
    return _write_png


@pytest.fixture
def make_split() -> Callable[[Path, Mapping[int, int]], Path]:
    """Factory: ``make_split(folder, {grade: n_images})`` fills ``folder/<grade>/img_<i>.png``."""

    def make(folder: Path, counts: Mapping[int, int]) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for grade, n in counts.items():
            (folder / str(grade)).mkdir(exist_ok=True)
            for i in range(n):
                _write_png(folder / str(grade) / f"img_{i}.png", value=40 * grade)
        return folder

    return make


@pytest.fixture(scope="session")
def tiny_synthetic(tmp_path_factory) -> Path:
    """A 35-image synthetic set (4 train, 2 test, 1 sample per grade), generated once."""
    from kneegrade_ml.synth.dataset import generate_dataset

    root = tmp_path_factory.mktemp("tiny") / "synthetic"
    sizes = {"train": 4, "test": 2, "samples": 1}
    generate_dataset(root, seed=0, split_sizes=sizes, workers=1, progress=False)
    return root


@pytest.fixture(scope="session")
def fake_pretrained(tmp_path_factory) -> Path:
    """A valid torchvision MobileNetV2 state_dict (seeded random weights, not ImageNet's).

    Tests use it so they never need ../shared or a download.
    """
    import torch
    from torchvision.models import mobilenet_v2

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("pretrained") / "mobilenet_v2.pth"
    torch.save(mobilenet_v2().state_dict(), path)
    return path


@pytest.fixture(scope="session")
def trained_models(
    tiny_synthetic, fake_pretrained, tmp_path_factory
) -> dict[str, Path]:
    """One model directory per trainable kind, trained for one epoch on the tiny set."""
    from kneegrade_ml.models.registry import REGISTRY, trainable_kinds
    from kneegrade_ml.training.loop import TrainOptions
    from kneegrade_ml.training.train import train_model

    root = tmp_path_factory.mktemp("models")
    options = TrainOptions(epochs=1, n_estimators=10)
    for kind in trainable_kinds():
        pretrained = fake_pretrained if REGISTRY[kind].pretrained_setting else None
        train_model(
            kind, tiny_synthetic, root / kind, options, pretrained, progress=False
        )
    return {kind: root / kind for kind in trainable_kinds()}
