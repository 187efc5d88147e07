"""JointNet: a small CenterNet-style heatmap regressor for knee joints (about 0.4 M parameters).

It reads the whole radiograph letterboxed into a square (aspect kept) and answers, on a grid four
times coarser: how likely a joint's centre is in each cell, the centre's offset within the cell,
the joint frame's size (log of its fraction of the input side) and which side of the patient the
knee is (the fibula is lateral). Stride 32 features see a whole knee; a top-down path brings them
back to stride 4 for a precise centre.
"""

import itertools

import torch
from torch import nn
from torch.nn import functional as F

INPUT_SIZE = 256
STRIDE = 4
HEAT, OFFSET_X, OFFSET_Y, LOG_SIZE, RIGHT_SIDE = range(5)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class JointNet(nn.Module):
    """(N, 1, 256, 256) in [0, 1] -> (N, 5, 64, 64) maps: heat logit, offset x/y, log size, side."""

    widths = (16, 32, 64, 96, 128)

    def __init__(self) -> None:
        super().__init__()
        w = self.widths
        self.stem = _conv(1, w[0], 2)
        self.down = nn.ModuleList(
            nn.Sequential(_conv(cin, cout, 2), _conv(cout, cout))
            for cin, cout in itertools.pairwise(w)
        )
        self.lateral = nn.ModuleList(nn.Conv2d(c, 64, 1) for c in w[1:])
        self.head = nn.Sequential(_conv(64, 64), nn.Conv2d(64, 5, 1))
        nn.init.constant_(self.head[-1].bias, 0.0)
        with torch.no_grad():
            self.head[-1].bias[
                HEAT
            ] = -4.0  # start from "no joint here" (focal-loss prior)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        x = self.stem(x)
        for block in self.down:
            x = block(x)
            features.append(x)
        top = self.lateral[-1](features[-1])
        for feature, lateral in zip(features[-2::-1], self.lateral[-2::-1]):
            top = F.interpolate(top, size=feature.shape[-2:], mode="nearest") + lateral(
                feature
            )
        return self.head(top)
