"""Preprocessing, defined once for training and inference: resize, then standardise, scale and
normalise.

Images are kept as uint8 at the model's resolution (``resize``) so a whole data set fits in memory;
``normalize`` turns a batch of them into the float tensor the model reads, after any histogram
standardisation: that comes after training's augmentation, so a model trained with it sees each
exposure curve mapped to one histogram, as it will at serving. Torch is imported when pixels are
first processed, so the model registry can name input specs without it.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
STANDARDIZATIONS = ("none", "equalize")
"""``none``: pixels as read; ``equalize``: each image's histogram equalised (torchvision's
``equalize``), which undoes any monotone change of exposure, gamma or contrast."""


@dataclass(frozen=True)
class InputSpec:
    """What a model reads: a square ``size`` image with ``channels`` channels, its histogram
    standardised as ``standardize`` says, normalised."""

    size: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    standardize: str = "none"

    def __post_init__(self) -> None:
        if self.standardize not in STANDARDIZATIONS:
            raise ValueError(
                f"unknown standardisation {self.standardize!r}"
                f" (one of {', '.join(STANDARDIZATIONS)})"
            )

    def resize(self, image: Image.Image) -> "torch.Tensor":
        """A grayscale PIL image as a uint8 (1, size, size) tensor (antialiased bilinear)."""
        from torchvision.transforms.v2 import functional as F

        pixels = F.pil_to_tensor(image.convert("L"))
        return F.resize(pixels, [self.size, self.size], antialias=True)

    def resize_all(self, images: Iterable[Image.Image]) -> "torch.Tensor":
        """Stack resized images into a uint8 (N, 1, size, size) batch."""
        import torch

        return torch.stack([self.resize(image) for image in images])

    def standardized(self, pixels: "torch.Tensor") -> "torch.Tensor":
        """uint8 (N, 1, size, size) with each image's histogram standardised (or as it is:
        every grade passes here, so ``none`` costs nothing)."""
        if self.standardize == "none":
            return pixels
        from torchvision.transforms.v2 import functional as F

        return F.equalize(pixels)

    def normalize(self, pixels: "torch.Tensor") -> "torch.Tensor":
        """uint8 (N, 1, size, size) -> float32 (N, channels, size, size), standardised and
        normalised."""
        import torch
        from torchvision.transforms.v2 import functional as F

        scaled = F.to_dtype(self.standardized(pixels), torch.float32, scale=True)
        return F.normalize(
            scaled.expand(-1, self.channels, -1, -1), self.mean, self.std
        )

    def to_dict(self) -> dict:
        """The spec as written in a model card (JSON types: lists, not tuples)."""
        return {
            **asdict(self),
            "mean": list(self.mean),
            "std": list(self.std),
            "resize": "bilinear, antialiased, to a square",
        }

    @classmethod
    def from_dict(cls, data: dict) -> "InputSpec":
        """A card's spec; cards written before standardisation existed read as ``none``."""
        return cls(
            data["size"],
            data["channels"],
            tuple(data["mean"]),
            tuple(data["std"]),
            data.get("standardize", "none"),
        )


IMAGENET_RGB_224 = InputSpec(224, 3, IMAGENET_MEAN, IMAGENET_STD)
"""MobileNetV2: the grayscale radiograph repeated over RGB, ImageNet normalisation."""


def unit_rgb(size: int, standardize: str = "none") -> InputSpec:
    """Pixels standardised and scaled to 0-1 on three channels, no normalisation: an ensemble's
    input, which each member normalises its own way."""
    return InputSpec(size, 3, (0.0,) * 3, (1.0,) * 3, standardize)


GRAY_128 = InputSpec(128, 1, (0.0,), (1.0,))
"""Custom CNN and Random Forest: 128x128 grayscale scaled to 0-1."""
