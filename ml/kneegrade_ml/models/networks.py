"""The two neural networks of the SPEC, as torch modules, their global pooling and grade outputs."""

from itertools import pairwise
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import MobileNet_V2_Weights, MobileNetV2, mobilenet_v2

from kneegrade_ml.grades import GRADES

N_CLASSES = len(GRADES)
TRAINABLE_FROM = 14
"""MobileNetV2 blocks ``features[14:]`` (the last 5 of 19) are trained; the rest stay frozen."""


class ContinuationRatio(nn.Module):
    """Four conditional logits, l_k = logit P(grade > k | grade >= k), as the five grades'
    log-probabilities: log P(k) = sum_{j<k} log sigmoid(l_j) + log sigmoid(-l_k).

    The CORN parametrisation (Shi et al. 2023): its negative log-likelihood is CORN's loss, the
    binary cross-entropy of each conditional task on the knees it applies to, so cross-entropy on
    these outputs trains it, and softmax, flip averaging, temperature and Grad-CAM work unchanged.
    """

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        reach = torch.cumsum(F.logsigmoid(logits), dim=1)  # log P(grade > k)
        at_least = F.pad(reach, (1, 0))  # log P(grade >= k), k = 0..4
        stop = F.pad(F.logsigmoid(-logits), (0, 1))  # log P(grade = k | grade >= k)
        return at_least + stop


def grade_layer(in_features: int, head: str = "linear") -> nn.Module:
    """The last layer: a logit per grade (``linear``) or the ordinal CORN output (``corn``)."""
    if head == "linear":
        return nn.Linear(in_features, N_CLASSES)
    if head == "corn":
        return nn.Sequential(nn.Linear(in_features, N_CLASSES - 1), ContinuationRatio())
    raise ValueError(f"unknown head {head!r}")


class GeneralizedMeanPool(nn.Module):
    """GeM pooling (Radenović et al. 2018): each channel's (mean of x^p)^(1/p), p learned from 3.

    p = 1 is the average and a large p nears the maximum, so a feature strong in a small part of
    the joint (an osteophyte, one narrowed compartment) weighs more than the average lets it.
    Inputs are clamped to ``eps`` first: the backbones' features are ReLU6 outputs, never negative.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.clamp(min=self.eps).pow(self.p).mean(dim=(-2, -1), keepdim=True)
        return mean.pow(1.0 / self.p)


def pooling_layer(pool: str = "avg") -> nn.Module:
    """The global pooling of the last feature maps: average (``avg``) or GeM (``gem``)."""
    if pool == "avg":
        return nn.AdaptiveAvgPool2d(1)
    if pool == "gem":
        return GeneralizedMeanPool()
    raise ValueError(f"unknown pooling {pool!r}")


def pooling_text(pool: str) -> str:
    """The pooling, as a model card's architecture names it before the classifier; the
    average, every model's before GeM, goes unnamed."""
    return "GeM pooling (p learned, from 3) -> " if pool == "gem" else ""


def head_stages(head: nn.Sequential) -> list[nn.Module]:
    """A pretrained network's trained part bottom to top, for layer-wise learning rates: each
    trained block, then the last convolution, pooling and grade layer as one top stage."""
    *blocks, last_convolution = head[0]
    return [*blocks, nn.ModuleList([last_convolution, *head[1:]])]


def head_text(in_features: int, head: str) -> str:
    """The last layer, as a model card's architecture names it."""
    if head == "corn":
        return (
            f"Linear({in_features}, 4) -> CORN continuation ratios (5 ordered grades)"
        )
    return f"Linear({in_features}, 5)"


class PretrainedWeightsError(RuntimeError):
    """No ImageNet weights for MobileNetV2: training it would learn from a frozen random trunk."""


class MobileNetV2KL(nn.Module):
    """torchvision MobileNetV2 with a frozen trunk and a trainable head ending in 5 KL grades.

    The trunk stays in eval mode even while training, so its output depends on the image alone:
    training can compute it once per image and train the head on the cached result.
    """

    def __init__(
        self,
        backbone: MobileNetV2 | None = None,
        trainable_from: int = TRAINABLE_FROM,
        head: str = "linear",
        pool: str = "avg",
    ):
        super().__init__()
        backbone = backbone if backbone is not None else mobilenet_v2()
        if not 0 <= trainable_from < len(backbone.features):
            raise ValueError(
                f"trainable_from must be a block of features, 0-"
                f"{len(backbone.features) - 1}, got {trainable_from}"
            )
        self.trunk = backbone.features[:trainable_from]
        self.head = nn.Sequential(
            backbone.features[trainable_from:],
            pooling_layer(pool),
            nn.Flatten(),
            nn.Dropout(0.5),
            grade_layer(backbone.last_channel, head),
        )
        self.trunk.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> "MobileNetV2KL":
        super().train(mode)
        self.trunk.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


def imagenet_mobilenet_v2(pretrained: Path | None) -> MobileNetV2:
    """MobileNetV2 with ImageNet weights from ``pretrained`` (a state_dict), else torchvision's."""
    if pretrained is not None:
        if not Path(pretrained).is_file():
            raise PretrainedWeightsError(
                f"pretrained weights file {pretrained} does not exist"
            )
        model = mobilenet_v2()
        try:
            state = torch.load(pretrained, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as err:
            raise PretrainedWeightsError(
                f"{pretrained} is not a torchvision MobileNetV2 state_dict: {err}"
            ) from err
        return model
    try:
        return mobilenet_v2(weights=MobileNet_V2_Weights.IMAGENET1K_V1)
    except Exception as err:
        raise PretrainedWeightsError(
            "MobileNetV2 needs ImageNet weights and torchvision could not download them "
            f"({err}). Point KNEEGRADE_PRETRAINED (or --pretrained) at a torchvision "
            "MobileNetV2 state_dict file."
        ) from err


class KneeOACNN(nn.Module):
    """The SPEC's custom CNN: four Conv-BN-ReLU-MaxPool blocks (1->32->64->128->256) on 128x128."""

    def __init__(self, head: str = "linear"):
        super().__init__()
        blocks = []
        channels = [1, 32, 64, 128, 256]
        for c_in, c_out in pairwise(channels):
            blocks += [
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(256 * 8 * 8, 256),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            grade_layer(256, head),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
