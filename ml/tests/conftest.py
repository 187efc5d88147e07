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
