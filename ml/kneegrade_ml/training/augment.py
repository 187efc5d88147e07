"""Augmentation for knee radiographs: changes that imaging allows, none that change a grade.

Left and right knees are mirror images, so a horizontal flip is fair; a vertical flip is not (the
femur is always on top). Positioning varies by a few degrees and percent; exposure and processing
change contrast and gamma. Joint-space width relative to the bones, which the grade depends on,
is kept: scaling is uniform and small. ``wide`` positioning doubles those ranges, and random
erasing (one black rectangle, as a marker or gonad shield hides part of an image) is there to try.

``scanner`` adds, per image, what another hospital's equipment changes (``ScannerAugmentation``):
a wider exposure curve, blur or a coarser resolution, detector noise, edge enhancement and JPEG
export. It is written apart from the evaluation's scanner shift
(``evaluation/shift.py``) and draws differently: its ranges are contiguous and mostly milder
(blur sigma 0.3-1.5 px against 1.0-2.2; resolution 40-90 % against 30-55 %; white noise 1-7
grey levels against signal-dependent, correlated 3-8; unsharp amount 0.2-1.2 against 0.7-1.8;
JPEG quality 40-95 against 30-70; the shift's exposure leaves out the mild middle this one
draws most), and the shift's windowing, CLAHE and collimation border are not drawn here at all.
"""

import io
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F


@dataclass(frozen=True)
class Positioning:
    """How far a view may be rotated (degrees), shifted (share of the side) and scaled."""

    degrees: float
    shift: float
    scale: tuple[float, float]


POSITIONINGS = {
    "standard": Positioning(degrees=7.0, shift=0.04, scale=(0.93, 1.07)),
    "wide": Positioning(degrees=15.0, shift=0.08, scale=(0.85, 1.15)),
}
"""``standard``: a few degrees and percent, as positioning varies; ``wide``: about twice that."""
ERASE_AREA = (0.02, 0.12)
CONTRAST_RANGE = (0.8, 1.2)
GAMMA_RANGE = (0.8, 1.25)


class RandomGamma(v2.Transform):
    """Gamma drawn log-uniformly from ``gamma_range``, as different film and detector curves."""

    def __init__(self, gamma_range: tuple[float, float] = GAMMA_RANGE):
        super().__init__()
        self.log_range = torch.log(torch.tensor(gamma_range))

    def make_params(self, flat_inputs: list) -> dict:
        low, high = self.log_range
        return {"gamma": float(torch.exp(low + (high - low) * torch.rand(())))}

    def transform(self, inpt, params: dict):
        return F.adjust_gamma(inpt, params["gamma"])


class ScannerAugmentation(v2.Transform):
    """Another scanner's look, drawn per image: each step applies with its own probability.

    For one uint8 (1, H, W) image; sizes in pixels are for 224 pixels and scale with the image.
    """

    EXPOSURE, BLUR, RESOLUTION, NOISE, SHARPEN, JPEG = 0.8, 0.25, 0.25, 0.4, 0.25, 0.3

    def make_params(self, flat_inputs: list) -> dict:
        def uniform(low: float, high: float) -> float:
            return float(low + (high - low) * torch.rand(()))

        def chance(p: float) -> bool:
            return bool(torch.rand(()) < p)

        params: dict = {}
        if chance(self.EXPOSURE):
            params["gamma"] = float(torch.exp(torch.tensor(uniform(-0.51, 0.5))))
            params["contrast"] = uniform(0.7, 1.4)
            params["brightness"] = uniform(-20.0, 20.0)
        blurred = torch.rand(())
        if blurred < self.BLUR:
            params["blur"] = uniform(0.3, 1.5)
        elif blurred < self.BLUR + self.RESOLUTION:
            params["resolution"] = uniform(0.4, 0.9)
        if chance(self.NOISE):
            params["noise"] = uniform(1.0, 7.0)
            params["noise_seed"] = int(torch.randint(2**31, ()))
        if chance(self.SHARPEN):
            params["sharpen"] = (uniform(0.5, 2.5), uniform(0.2, 1.2))
        if chance(self.JPEG):
            params["jpeg"] = int(torch.randint(40, 96, ()))
        return params

    def transform(self, inpt, params: dict):
        image = inpt.float()
        scale = min(image.shape[-2:]) / 224
        if "gamma" in params:
            image = 255.0 * (image / 255.0) ** params["gamma"]
            mean = image.mean()
            image = (image - mean) * params["contrast"] + mean + params["brightness"]
        if "blur" in params:
            image = _gaussian_blur(image, params["blur"] * scale)
        if "resolution" in params:
            size = list(image.shape[-2:])
            small = [max(1, round(side * params["resolution"])) for side in size]
            image = F.resize(F.resize(image, small, antialias=True), size)
        if "noise" in params:
            generator = torch.Generator().manual_seed(params["noise_seed"])
            field = torch.randn(image.shape, generator=generator)
            image = image + params["noise"] * field
        if "sharpen" in params:
            sigma, amount = params["sharpen"]
            image = image + amount * (image - _gaussian_blur(image, sigma * scale))
        pixels = image.clamp(0, 255).round().to(torch.uint8)
        if "jpeg" in params:
            pixels = _jpeg(pixels, params["jpeg"])
        return pixels


def _jpeg(pixels: torch.Tensor, quality: int) -> torch.Tensor:
    """uint8 (1, H, W) through a JPEG encoder and back (Pillow's: torchvision's is deprecated)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels[0].numpy()).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return torch.from_numpy(np.array(decoded.convert("L")))[None]


def _gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """float (1, H, W) blurred (OpenCV's: several times faster than a torch convolution here)."""
    return torch.from_numpy(cv2.GaussianBlur(image[0].numpy(), (0, 0), sigma))[None]


AUGMENTATIONS = ("standard", "scanner")
"""``standard``: positioning, contrast and gamma; ``scanner``: those, then another scanner's look."""


def scanner_look(kind: str) -> ScannerAugmentation | None:
    """The scanner step that augmentation ``kind`` adds (None for ``standard``); the graders and
    the localiser both name their augmentation this way."""
    if kind not in AUGMENTATIONS:
        raise ValueError(
            f"unknown augmentation {kind!r} (one of {', '.join(AUGMENTATIONS)})"
        )
    return ScannerAugmentation() if kind == "scanner" else None


def radiograph_augmentation(
    kind: str = "standard", positioning: str = "standard", erase: float = 0.0
) -> v2.Compose:
    """Random flip, rotation/shift/scale (``positioning``), contrast and gamma, for one uint8
    (1, H, W) image; with ``kind="scanner"``, then another scanner's look; then, with chance
    ``erase``, one black rectangle, as a marker or shield hides part of the image."""
    if positioning not in POSITIONINGS:
        raise ValueError(
            f"unknown positioning {positioning!r} (one of {', '.join(POSITIONINGS)})"
        )
    if not 0 <= erase <= 1:
        raise ValueError(f"the erasing chance must lie in [0, 1], not {erase}")
    pose = POSITIONINGS[positioning]
    steps = [
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(
            degrees=pose.degrees,
            translate=(pose.shift, pose.shift),
            scale=pose.scale,
            interpolation=v2.InterpolationMode.BILINEAR,
        ),
        v2.ColorJitter(contrast=CONTRAST_RANGE),
        RandomGamma(),
    ]
    scanner = scanner_look(kind)
    if scanner is not None:
        steps.append(scanner)
    if erase:
        steps.append(v2.RandomErasing(p=erase, scale=ERASE_AREA))
    return v2.Compose(steps)


def augment_batch(
    pixels: torch.Tensor,
    generator: torch.Generator | None = None,
    kind: str = "standard",
    positioning: str = "standard",
    erase: float = 0.0,
) -> torch.Tensor:
    """A new random view of each uint8 (N, 1, H, W) image, drawn independently per image.

    torchvision's transforms draw from torch's global generator, so a seeded ``generator`` is
    used to seed it here: the same seed gives the same views.
    """
    if generator is not None:
        torch.manual_seed(int(torch.randint(2**62, (), generator=generator)))
    transform = radiograph_augmentation(kind, positioning, erase)
    return torch.stack([transform(image) for image in pixels])
