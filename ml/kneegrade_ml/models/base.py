"""What every KL classifier is: a ``ModelConfig``, weights, and five probabilities from pixels.

The bottom layer: nothing here knows how a model is trained (``training/``) or explained
(``explain/``); those read the structure the classifiers expose.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.outputs import module_logits, softmax_with_temperature
from kneegrade_ml.preprocess import InputSpec

Forward = Callable[[torch.Tensor], torch.Tensor]
"""uint8 pixels (N, 1, size, size) -> logits (N, 5): one way to run a network."""


class KLClassifier(ABC):
    """A KL grade classifier: uint8 pixels in, five probabilities out; saved and loaded."""

    kind: ClassVar[str]
    weights_file: ClassVar[str]

    def __init__(self, config: ModelConfig):
        if config.kind != self.kind:
            raise ValueError(f"a {config.kind!r} config for a {self.kind!r} classifier")
        self.config = config

    @property
    def spec(self) -> InputSpec:
        return self.config.input

    @property
    @abstractmethod
    def architecture(self) -> str:
        """One line for the model card."""

    @abstractmethod
    def predict_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        """Probabilities (N, 5) from uint8 (N, 1, size, size) pixels."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the learned weights to ``path``."""

    @abstractmethod
    def load(self, path: Path) -> None:
        """Read learned weights written by ``save``."""


class TorchClassifier(KLClassifier):
    """A neural network: frozen and trainable parts, flip averaging, calibrated softmax, Grad-CAM.

    Subclasses build ``network`` and say how it splits (``parts``) and where Grad-CAM cuts it
    (``cam_split``).
    """

    weights_file = "model.pt"
    network: nn.Module

    def network_input(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 pixels normalised, in the channels-last layout the network's weights use:
        CPU convolutions run fastest on it (bench/bench_layout.py)."""
        return self.spec.normalize(pixels).contiguous(memory_format=torch.channels_last)

    @abstractmethod
    def parts(self) -> tuple[nn.Module | None, nn.Module]:
        """(frozen trunk or None, trainable rest): the trunk's output depends on the image alone."""

    @abstractmethod
    def cam_split(self) -> tuple[nn.Module, nn.Module]:
        """(normalised pixels -> Grad-CAM's target activations, those activations -> logits)."""

    def grade_output(self) -> nn.Module:
        """The layer that turns the last features into the grades' logits (linear or CORN)."""
        raise ValueError(f"{self.kind} has no single grade layer to probe")

    def trained_stages(self) -> list[nn.Module]:
        """The trained part bottom to top, each stage learning slower than the one above it
        under ``--layer-decay``."""
        raise ValueError(
            f"{self.kind} has no pretrained stages: --layer-decay is for the ImageNet networks"
        )

    def set_stochastic_depth(self, rate: float) -> None:
        """Skip trained residual blocks at random while training, with at most ``rate``."""
        raise ValueError(
            f"{self.kind} has no stochastic depth: --drop-path is for the EfficientNet-Lite"
            " networks"
        )

    def pixel_logits(
        self,
        pixels: torch.Tensor,
        device: torch.device | str = "cpu",
        forward: Forward | None = None,
    ) -> torch.Tensor:
        """Uncalibrated logits (N, 5), averaged with the mirror image's when ``tta_flip``.

        ``forward`` runs the network another way (ONNX Runtime when serving); by default torch.
        """
        if forward is None:
            forward = partial(
                module_logits, self.network, prepare=self.network_input, device=device
            )
        if not self.config.tta_flip:
            return forward(pixels)
        logits = forward(torch.cat([pixels, pixels.flip(-1)]))  # one batch, one call
        return torch.stack(logits.split(len(pixels))).mean(0)

    def predict_pixels(
        self, pixels: torch.Tensor, forward: Forward | None = None
    ) -> np.ndarray:
        logits = self.pixel_logits(pixels, forward=forward).numpy()
        return softmax_with_temperature(logits, self.config.temperature)

    def save(self, path: Path) -> None:
        torch.save(self.network.state_dict(), path)

    def load(self, path: Path) -> None:
        """Weights in any float precision (releases store float16) load into float32."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.network.load_state_dict(state)
        self.network.eval()
