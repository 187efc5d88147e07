"""The localiser's input and targets: the image letterboxed into a square, aspect kept."""

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from kneegrade_ml.localise.joints import Joint
from kneegrade_ml.localise.network import INPUT_SIZE, STRIDE

GRID = INPUT_SIZE // STRIDE


@dataclass(frozen=True)
class Letterbox:
    """How an image maps into the square input: scaled by ``scale`` from the top-left corner."""

    scale: float

    @classmethod
    def of(cls, width: int, height: int) -> "Letterbox":
        return cls(INPUT_SIZE / max(width, height))


def letterbox(pixels: np.ndarray) -> tuple[torch.Tensor, Letterbox]:
    """uint8 (H, W) -> float (1, 256, 256) in [0, 1], the image in the top-left corner, zeros
    elsewhere; antialiased, never stretched."""
    height, width = pixels.shape
    box = Letterbox.of(width, height)
    size = (max(1, round(width * box.scale)), max(1, round(height * box.scale)))
    small = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
    square = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
    square[: small.shape[0], : small.shape[1]] = small / 255.0
    return torch.from_numpy(square)[None], box


def targets(joints: list[Joint], box: Letterbox) -> tuple[torch.Tensor, torch.Tensor]:
    """The maps a scene's joints ask for, and a mask of the cells that hold a joint's centre.

    Heat: a Gaussian at each centre, wider for bigger joints (CenterNet); the regression maps
    (offset, log size, side: 1 right, 0 left, -1 unknown) are read only at centre cells.
    """
    maps = torch.zeros(5, GRID, GRID)
    centre = torch.zeros(GRID, GRID, dtype=torch.bool)
    rows = torch.arange(GRID, dtype=torch.float32)[:, None]
    cols = torch.arange(GRID, dtype=torch.float32)[None, :]
    for joint in joints:
        x, y = joint.cx * box.scale / STRIDE, joint.cy * box.scale / STRIDE
        size = joint.size * box.scale
        col, row = min(int(x), GRID - 1), min(int(y), GRID - 1)
        if not (0 <= x < GRID and 0 <= y < GRID):
            continue
        sigma = max(size / STRIDE / 8, 0.7)
        heat = torch.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * sigma**2))
        maps[0] = torch.maximum(maps[0], heat)
        maps[1:, row, col] = torch.tensor(
            [
                x - col,
                y - row,
                float(np.log(size / INPUT_SIZE)),
                _side_target(joint.side),
            ]
        )
        maps[0, row, col] = 1.0
        centre[row, col] = True
    return maps, centre


def _side_target(side: str | None) -> float:
    return {"right": 1.0, "left": 0.0}.get(side, -1.0)
