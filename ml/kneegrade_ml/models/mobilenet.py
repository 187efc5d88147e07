"""MobileNetV2 transfer learning, the SPEC's primary model: a frozen ImageNet trunk, the rest
fine-tuned, ending in Dropout(0.5) -> Linear(1280, 5)."""

import torch
from torch import nn
from torchvision.models import MobileNetV2

from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.networks import (
    MobileNetV2KL,
    head_stages,
    head_text,
    pooling_text,
)

MIN_INPUT_SIZE = 32
"""MobileNetV2 halves the image five times; below 32 pixels its last blocks see nothing."""


class MobileNetV2Classifier(TorchClassifier):
    """torchvision MobileNetV2; ``features[:trainable_from]`` frozen and kept in eval mode."""

    kind = "mobilenetv2"

    def __init__(self, config: ModelConfig, backbone: MobileNetV2 | None = None):
        """Training needs an ImageNet ``backbone``; without one the weights are random, which
        suits loading a saved model only."""
        super().__init__(config)
        if self.spec.size < MIN_INPUT_SIZE:
            raise ValueError(
                f"input_size must be at least {MIN_INPUT_SIZE} pixels, got {self.spec.size}"
            )
        self.network = MobileNetV2KL(
            backbone, self.config.trainable_from, self.config.head, self.config.pool
        ).to(memory_format=torch.channels_last)

    @property
    def architecture(self) -> str:
        n = self.config.trainable_from
        return (
            f"torchvision mobilenet_v2, ImageNet weights; features[:{n}] frozen (eval "
            f"mode), features[{n}:] trained; classifier "
            + pooling_text(self.config.pool)
            + "Dropout(0.5) -> "
            + head_text(1280, self.config.head)
        )

    def parts(self) -> tuple[nn.Module, nn.Module]:
        return self.network.trunk, self.network.head

    def grade_output(self) -> nn.Module:
        return self.network.head[-1]

    def trained_stages(self) -> list[nn.Module]:
        return head_stages(self.network.head)

    def cam_split(self) -> tuple[nn.Module, nn.Module]:
        """Cut after ``features[cam_after]`` (by default the last block: 1280 channels, 7x7),
        wherever the trunk/head boundary lies."""
        features = nn.Sequential(*self.network.trunk, *self.network.head[0])
        cut = self.config.cam_after + 1
        return features[:cut], nn.Sequential(*features[cut:], *self.network.head[1:])
