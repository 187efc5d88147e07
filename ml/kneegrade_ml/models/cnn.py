"""The SPEC's custom 4-block CNN on 128x128 grayscale, trained from scratch."""

import torch
from torch import nn

from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.networks import KneeOACNN, head_text


class CNNClassifier(TorchClassifier):
    kind = "cnn"

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.network = KneeOACNN(config.head).to(memory_format=torch.channels_last)

    @property
    def architecture(self) -> str:
        return (
            "KneeOACNN: 4 x [Conv3x3(pad 1) -> BatchNorm -> ReLU -> MaxPool2], channels "
            "1-32-64-128-256; Flatten(256*8*8) -> Linear 256 -> ReLU -> Dropout(0.5) -> "
            + head_text(256, self.config.head)
        )

    def parts(self) -> tuple[None, nn.Module]:
        return None, self.network

    def grade_output(self) -> nn.Module:
        return self.network.classifier[-1]

    def cam_split(self) -> tuple[nn.Module, nn.Module]:
        cut = self.config.cam_after + 1
        features = self.network.features
        return features[:cut], nn.Sequential(*features[cut:], self.network.classifier)
