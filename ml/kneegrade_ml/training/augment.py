"""Augmentation for knee radiographs: changes that imaging allows, none that change a grade.

Left and right knees are mirror images, so a horizontal flip is fair; a vertical flip is not (the
femur is always on top). Positioning varies by a few degrees and percent; exposure and processing
change contrast and gamma. Joint-space width relative to the bones, which the grade depends on,
is kept: scaling is uniform and small.
"""

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

MAX_ROTATION_DEGREES = 7.0
MAX_SHIFT = 0.04
SCALE_RANGE = (0.93, 1.07)
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


def radiograph_augmentation() -> v2.Compose:
    """Random flip, small rotation/shift/scale, contrast and gamma, for one uint8 (1, H, W) image."""
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomAffine(
                degrees=MAX_ROTATION_DEGREES,
                translate=(MAX_SHIFT, MAX_SHIFT),
                scale=SCALE_RANGE,
                interpolation=v2.InterpolationMode.BILINEAR,
            ),
            v2.ColorJitter(contrast=CONTRAST_RANGE),
            RandomGamma(),
        ]
    )


def augment_batch(
    pixels: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A new random view of each uint8 (N, 1, H, W) image, drawn independently per image.

    torchvision's transforms draw from torch's global generator, so a seeded ``generator`` is
    used to seed it here: the same seed gives the same views.
    """
    if generator is not None:
        torch.manual_seed(int(torch.randint(2**62, (), generator=generator)))
    transform = radiograph_augmentation()
    return torch.stack([transform(image) for image in pixels])
