"""A found knee joint, and the square crop the graders read from it.

Boxes are squares in the image's own pixels: the frame a training crop of that knee would have
(Chen 2018: the joint centred, the knee's width filling the crop). A crop never stretches the
image; where a box reaches past the image's edge, the edge pixels are repeated.
"""

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

SIDES = ("right", "left")
"""The patient's side of a knee (not the side of the image it appears on)."""


@dataclass(frozen=True)
class Joint:
    """One knee: its square frame in image pixels, the patient's side when known, and how sure."""

    cx: float
    cy: float
    size: float
    score: float
    side: str | None = None
    side_source: str | None = None
    """How the side is known: "dicom", "layout" (a bilateral view) or "anatomy" (the fibula)."""
    right: float | None = None
    """The localiser's probability that this is a right knee, from its anatomy."""

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the frame, top-left origin."""
        half = self.size / 2
        return (self.cx - half, self.cy - half, self.size, self.size)

    def with_side(self, side: str | None, source: str | None) -> "Joint":
        return replace(self, side=side, side_source=source)


def whole_image(image: Image.Image, score: float = 1.0) -> Joint:
    """The joint of an image that already is a centred crop: the whole image is its frame."""
    return Joint(image.width / 2, image.height / 2, float(max(image.size)), score)


def is_whole_image(joint: Joint, image: Image.Image) -> bool:
    """Whether ``joint``'s frame is the whole image's (to half a pixel, as stored boxes round)."""
    frame = whole_image(image)
    return all(abs(a - b) <= 0.5 for a, b in zip(joint.box, frame.box, strict=True))


def crop_joint(image: Image.Image, joint: Joint) -> Image.Image:
    """The joint's square frame cut from the image (edge pixels repeated past its borders)."""
    x, y, size, _ = joint.box
    left, top = round(x), round(y)
    side = max(1, round(size))
    inside = image.crop(
        (
            max(left, 0),
            max(top, 0),
            min(left + side, image.width),
            min(top + side, image.height),
        )
    )
    if inside.size == (side, side):
        return inside
    pixels = np.asarray(inside.convert("L"))
    if pixels.size == 0:
        return Image.new("L", (side, side))
    pad_before = (max(-top, 0), max(-left, 0))
    pad_after = (
        side - pixels.shape[0] - pad_before[0],
        side - pixels.shape[1] - pad_before[1],
    )
    padded = np.pad(pixels, list(zip(pad_before, pad_after, strict=True)), mode="edge")
    return Image.fromarray(padded)
