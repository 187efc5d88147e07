"""Radiographs of any framing built from single-knee crops, with every joint's frame known.

The localiser learns from these and the localisation benchmark measures on them. A crop is
widened, zoomed out, shifted, stretched into a full-leg field or paired with a neighbour as a
bilateral view; what lies beyond a crop continues its edge pixels and fades to the background,
as soft tissue and bone shafts do, so no sharp border gives the crop away.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter

from kneegrade_ml.localise.joints import Joint

LAYOUTS = ("crop", "shifted", "wide", "zoomed", "bilateral", "full-leg", "none")


@dataclass
class Scene:
    """An 8-bit grayscale image and the true frame of every knee in it (side: the patient's)."""

    image: np.ndarray
    joints: list[Joint] = field(default_factory=list)


def _fade(
    shape: tuple[int, int], inner: tuple[int, int, int, int], lengths, background
):
    """Weights (1 inside ``inner`` = top, left, height, width) decaying outside it, and the
    background they fade towards."""
    rows = np.arange(shape[0], dtype=np.float32)
    cols = np.arange(shape[1], dtype=np.float32)
    top, left, height, width = inner
    dy = np.maximum(np.maximum(top - rows, rows - (top + height - 1)), 0)
    dx = np.maximum(np.maximum(left - cols, cols - (left + width - 1)), 0)
    weight = np.exp(-dy[:, None] / lengths[0] - dx[None, :] / lengths[1])
    return weight, background


def extend(
    strip: np.ndarray,
    pads: tuple[int, int, int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """``strip`` with (top, bottom, left, right) pixels added: its edges continued, fading out
    over a random length to a random background, with noise outside the strip."""
    top, bottom, left, right = (max(0, int(p)) for p in pads)
    if top == bottom == left == right == 0:
        return strip.astype(np.uint8)
    grown = np.pad(
        strip.astype(np.float32), ((top, bottom), (left, right)), mode="edge"
    )
    size = max(strip.shape)
    lengths = (size * rng.uniform(0.3, 3.0), size * rng.uniform(0.08, 0.8))
    weight, background = _fade(
        grown.shape, (top, left, *strip.shape), lengths, rng.uniform(0, 70)
    )
    outside = weight < 1
    blurred = gaussian_filter(grown, sigma=rng.uniform(0.5, 3.0))
    mixed = background + (blurred - background) * weight
    noisy = mixed + rng.normal(0, rng.uniform(1, 6), grown.shape)
    grown[outside] = noisy[outside]
    return np.clip(grown, 0, 255).astype(np.uint8)


def _frame_of(crop: np.ndarray, top: int, left: int, side: str | None) -> Joint:
    size = crop.shape[1]
    return Joint(left + size / 2, top + crop.shape[0] / 2, float(size), 1.0, side)


def framed(
    crop: np.ndarray,
    side: str | None,
    pads: tuple[int, int, int, int],
    rng: np.random.Generator,
) -> Scene:
    """One knee crop extended by ``pads`` (top, bottom, left, right)."""
    image = extend(crop, pads, rng)
    return Scene(image, [_frame_of(crop, int(pads[0]), int(pads[2]), side)])


def bilateral(
    right_knee: np.ndarray,
    left_knee: np.ndarray,
    gap: int,
    pads: tuple[int, int, int, int],
    rng: np.random.Generator,
) -> Scene:
    """Both knees side by side as a standing AP/PA view shows them: the patient's right knee on
    the image's left. The gap between them dips towards the background like the air there."""
    height = right_knee.shape[0]
    t = np.linspace(0, 1, gap + 2, dtype=np.float32)[1:-1]
    edge_a = right_knee[:, -1:].astype(np.float32)
    edge_b = left_knee[:, :1].astype(np.float32)
    dip = 1 - rng.uniform(0.2, 0.95) * np.sin(np.pi * t)
    gap_pixels = ((1 - t) * edge_a + t * edge_b) * dip + rng.normal(0, 3, (height, gap))
    strip = np.concatenate(
        [right_knee.astype(np.float32), gap_pixels, left_knee.astype(np.float32)],
        axis=1,
    )
    image = extend(np.clip(strip, 0, 255), pads, rng)
    top, left = int(pads[0]), int(pads[2])
    joints = [
        _frame_of(right_knee, top, left, "right"),
        _frame_of(left_knee, top, left + right_knee.shape[1] + gap, "left"),
    ]
    return Scene(image, joints)


def shifted(crop: np.ndarray, side: str | None, rng: np.random.Generator) -> Scene:
    """A square window off the crop's frame: moved up to 15 % and scaled 0.85-1.2."""
    size = crop.shape[0]
    window = int(size * rng.uniform(0.85, 1.2))
    dx, dy = (int(size * rng.uniform(-0.15, 0.15)) for _ in range(2))
    margin = size
    big = extend(crop, (margin, margin, margin, margin), rng)
    top = margin + (size - window) // 2 + dy
    left = margin + (size - window) // 2 + dx
    image = big[top : top + window, left : left + window]
    return Scene(image, [_frame_of(crop, margin - top, margin - left, side)])


def blank(shape: tuple[int, int], rng: np.random.Generator) -> Scene:
    """An image with no knee: a flat field, a gradient, or smooth chest-like blobs."""
    kind = rng.integers(3)
    if kind == 0:
        image = np.full(shape, rng.uniform(0, 255), np.float32)
    elif kind == 1:
        rows = np.linspace(0, 1, shape[0], dtype=np.float32)[:, None]
        cols = np.linspace(0, 1, shape[1], dtype=np.float32)[None, :]
        a, b = rng.uniform(-200, 200, 2)
        image = 128 + a * (rows - 0.5) + b * (cols - 0.5)
    else:
        image = gaussian_filter(rng.normal(0, 1, shape), sigma=max(shape) / 12)
        image = 128 + 100 * image / (np.abs(image).max() + 1e-6)
    image = image + rng.normal(0, rng.uniform(0, 8), shape)
    return Scene(np.clip(image, 0, 255).astype(np.uint8), [])


def random_scene(
    layout: str,
    crop: np.ndarray,
    side: str | None,
    rng: np.random.Generator,
    partner: np.ndarray | None = None,
) -> Scene:
    """A scene of ``layout`` (one of ``LAYOUTS``) around ``crop``; bilateral views pair it with
    ``partner`` (the other knee), else with its own mirror image."""
    size = crop.shape[0]

    def some(low: float, high: float) -> int:
        return int(size * rng.uniform(low, high))

    if layout == "crop":
        return Scene(crop.astype(np.uint8), [_frame_of(crop, 0, 0, side)])
    if layout == "shifted":
        return shifted(crop, side, rng)
    if layout == "wide":
        extra = some(0.3, 1.8)
        left = int(extra * rng.uniform(0.1, 0.9))
        return framed(
            crop, side, (some(0, 0.15), some(0, 0.15), left, extra - left), rng
        )
    if layout == "zoomed":
        return framed(
            crop, side, (some(0.1, 1), some(0.1, 1), some(0.1, 1), some(0.1, 1)), rng
        )
    if layout == "full-leg":
        return framed(
            crop,
            side,
            (some(0.5, 2.5), some(0.5, 2.5), some(0, 0.4), some(0, 0.4)),
            rng,
        )
    if layout == "bilateral":
        other = partner if partner is not None else crop[:, ::-1]
        knees = (crop, other) if side != "left" else (other, crop)
        tall = rng.random() < 0.3
        vertical = (
            (some(0.4, 2.2), some(0.4, 2.2)) if tall else (some(0, 0.3), some(0, 0.3))
        )
        return bilateral(
            *knees, some(0, 0.8), (*vertical, some(0, 0.5), some(0, 0.5)), rng
        )
    if layout == "none":
        return blank((size, some(1, 4)), rng)
    raise ValueError(f"unknown layout {layout!r} (one of {', '.join(LAYOUTS)})")
