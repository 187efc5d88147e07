"""Scanner shift: a seeded imitation of radiographs from another hospital, for evaluation only.

The model is trained and validated on one archive (OAI radiographs, one processing chain). On
another hospital's images it meets other exposures, detector curves, noise, sharpness,
resolution, vendor processing and export compression. These transforms turn a uint8 grayscale
radiograph into such an image, each kind named, so a held-out split can be scored as if it came
from elsewhere (``bench/bench_shift.py``):

==============  ===============================================================================
``exposure``    another dose and detector curve: gamma 0.55-0.75 or 1.35-1.8, contrast x0.65-0.85
                or x1.2-1.45 about the mean, brightness ±8-25 grey levels
``blur``        a softer detector or a little motion: Gaussian blur, sigma 1.0-2.2 px
``resolution``  a coarser detector or a downsized export: down to 30-55 % (area), back up
                (bilinear or bicubic)
``noise``       quantum and electronic noise: signal-dependent, slightly correlated Gaussian,
                3-8 grey levels (before any window or processing that amplifies it)
``window``      another window and level: the 0-10th to 90-100th percentiles mapped onto
                0-30 .. 215-255, clipped outside
``equalise``    vendor local-contrast processing: CLAHE (clip limit 1.5-3, 4-8 tiles), blended
                50-100 % with the image
``sharpen``     vendor edge enhancement: unsharp mask, sigma 1.5-5 px, amount 0.7-1.8
``jpeg``        lossy export: JPEG quality 30-70
``border``      a collimation edge: a dark or bright band over 5-14 % of one or two sides
``scanner``     the mix: per image, a new curve (exposure or window), and with their own
                probabilities one blur (blur or resolution), noise, one kind of processing
                (equalise or sharpen), jpeg and a border, applied in the order above
==============  ===============================================================================

Sizes in pixels are for a 224-pixel image and scale with the image's shorter side. Every draw
comes from ``(seed, kind, key)``, the key being the image's file name (or index): the same image
gets the same shift whatever order or subset it is processed in, so the shifted copy of a split
is reproducible from the seed alone. The training-side scanner augmentation
(``training/augment.py``) is written separately, in torch, with its own ranges; ``window``,
``equalise`` and ``border`` have no counterpart there at all.
"""

import io
import zlib
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

REFERENCE_SIZE = 224
"""Pixel sizes below are for an image whose shorter side is this long."""

Params = dict[str, float | int | str]
Step = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, Params]]
"""float32 grey levels (0-255, H x W) and a generator -> the shifted image and what was drawn."""


def _scale(image: np.ndarray) -> float:
    return min(image.shape) / REFERENCE_SIZE


def _either(rng: np.random.Generator, *ranges: tuple[float, float]) -> float:
    """Uniform over one of ``ranges``, picked at random."""
    low, high = ranges[int(rng.integers(len(ranges)))]
    return float(rng.uniform(low, high))


def exposure(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    gamma = float(np.exp(_either(rng, (np.log(0.55), np.log(0.75)),
                                 (np.log(1.35), np.log(1.8)))))  # fmt: skip
    contrast = _either(rng, (0.65, 0.85), (1.2, 1.45))
    brightness = _either(rng, (-25.0, -8.0), (8.0, 25.0))
    out = 255.0 * (image / 255.0) ** gamma
    out = (out - out.mean()) * contrast + out.mean() + brightness
    return out, {"gamma": gamma, "contrast": contrast, "brightness": brightness}


def blur(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    sigma = float(rng.uniform(1.0, 2.2))
    out = cv2.GaussianBlur(image, (0, 0), sigma * _scale(image))
    return out, {"sigma": sigma}


def resolution(
    image: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, Params]:
    factor = float(rng.uniform(0.30, 0.55))
    cubic = bool(rng.integers(2))
    h, w = image.shape
    small = cv2.resize(
        image,
        (max(1, round(w * factor)), max(1, round(h * factor))),
        interpolation=cv2.INTER_AREA,
    )
    up = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    out = cv2.resize(small, (w, h), interpolation=up)
    return out, {"factor": factor, "upsampling": "bicubic" if cubic else "bilinear"}


def noise(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    level = float(rng.uniform(3.0, 8.0))
    correlation = float(rng.uniform(0.0, 0.8))
    field = rng.standard_normal(image.shape).astype(np.float32)
    if correlation > 0.1:
        field = cv2.GaussianBlur(field, (0, 0), correlation * _scale(image))
        field /= max(float(field.std()), 1e-6)
    # Brighter (more attenuating) regions got fewer photons: relatively noisier.
    strength = level * (0.6 + 0.8 * image / 255.0)
    return image + strength * field, {"level": level, "correlation": correlation}


def window(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    low_pct, high_pct = float(rng.uniform(0, 10)), float(rng.uniform(90, 100))
    out_low, out_high = float(rng.uniform(0, 30)), float(rng.uniform(215, 255))
    low, high = np.percentile(image, [low_pct, high_pct])
    span = max(float(high - low), 1.0)
    out = out_low + (np.clip(image, low, high) - low) / span * (out_high - out_low)
    params = {"low_percentile": low_pct, "high_percentile": high_pct}
    return out, {**params, "out_low": out_low, "out_high": out_high}


def equalise(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    clip = float(rng.uniform(1.5, 3.0))
    tiles = int(rng.integers(4, 9))
    blend = float(rng.uniform(0.5, 1.0))
    clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles))
    equalised = clahe.apply(_to_uint8(image)).astype(np.float32)
    out = blend * equalised + (1 - blend) * image
    return out, {"clip_limit": clip, "tiles": tiles, "blend": blend}


def sharpen(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    sigma = float(rng.uniform(1.5, 5.0))
    amount = float(rng.uniform(0.7, 1.8))
    smooth = cv2.GaussianBlur(image, (0, 0), sigma * _scale(image))
    return image + amount * (image - smooth), {"sigma": sigma, "amount": amount}


def jpeg(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    quality = int(rng.integers(30, 71))
    buffer = io.BytesIO()
    Image.fromarray(_to_uint8(image)).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        out = np.asarray(decoded.convert("L"), dtype=np.float32)
    return out, {"quality": quality}


SIDES = ("top", "bottom", "left", "right")


def border(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    count = int(rng.integers(1, 3))
    sides = [SIDES[i] for i in sorted(rng.choice(4, count, replace=False))]
    dark = bool(rng.integers(2))
    value = float(rng.uniform(0, 20) if dark else rng.uniform(235, 255))
    out = image.copy()
    h, w = image.shape
    widths = {}
    for side in sides:
        fraction = float(rng.uniform(0.05, 0.14))
        widths[side] = fraction
        n = max(1, round(fraction * (h if side in ("top", "bottom") else w)))
        region = {
            "top": np.s_[:n, :],
            "bottom": np.s_[h - n :, :],
            "left": np.s_[:, :n],
            "right": np.s_[:, w - n :],
        }[side]
        out[region] = value
    # A collimator edge is a penumbra, not a step.
    out = cv2.GaussianBlur(out, (0, 0), 0.8 * _scale(image))
    return out, {"sides": "+".join(sides), "value": value, **widths}


STEPS: dict[str, Step] = {
    "exposure": exposure,
    "blur": blur,
    "resolution": resolution,
    "noise": noise,
    "window": window,
    "equalise": equalise,
    "sharpen": sharpen,
    "jpeg": jpeg,
    "border": border,
}
"""Each single kind, in the order the mix applies them (acquisition, then processing, export)."""

MIX_GROUPS: tuple[tuple[float, dict[str, float]], ...] = (
    (1.0, {"exposure": 0.6, "window": 0.4}),
    (0.6, {"blur": 0.5, "resolution": 0.5}),
    (0.5, {"noise": 1.0}),
    (0.6, {"equalise": 0.5, "sharpen": 0.5}),
    (0.5, {"jpeg": 1.0}),
    (0.15, {"border": 1.0}),
)
"""The ``scanner`` mix, group by group: how often the group applies, then which of its kinds.

Every image gets a new curve (exposure or window); at most one kind of blur and one kind of
vendor processing (CLAHE over strong noise and an unsharp mask on top was beyond any scanner).
"""

MIX = "scanner"
KINDS = (*STEPS, MIX)


def _key(key: str | int) -> int:
    if isinstance(key, str):
        return zlib.crc32(key.encode())
    return int(key)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def mix_kinds(rng: np.random.Generator) -> list[str]:
    """The kinds the ``scanner`` mix applies to one image, in the order they apply."""
    chosen = set()
    for probability, kinds in MIX_GROUPS:
        if rng.random() < probability:
            names = list(kinds)
            chosen.add(names[rng.choice(len(names), p=list(kinds.values()))])
    return [kind for kind in STEPS if kind in chosen]


def shift_steps(
    image: np.ndarray, kind: str, seed: int = 0, key: str | int = 0
) -> tuple[np.ndarray, list[tuple[str, Params]]]:
    """``image`` (uint8, H x W) shifted by ``kind``, and each step's name and drawn parameters.

    The draws depend only on ``seed``, ``kind`` and ``key`` (e.g. the file name).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown shift {kind!r} (one of {', '.join(KINDS)})")
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(
            f"expected a uint8 grey image (H, W), got {image.dtype} {image.shape}"
        )
    rng = np.random.default_rng([seed, KINDS.index(kind), _key(key)])
    kinds = mix_kinds(rng) if kind == MIX else [kind]
    out = image.astype(np.float32)
    steps = []
    for name in kinds:
        out, params = STEPS[name](out, rng)
        out = np.clip(out, 0, 255).astype(np.float32)
        steps.append((name, params))
    return _to_uint8(out), steps


def shift_image(
    image: np.ndarray, kind: str, seed: int = 0, key: str | int = 0
) -> np.ndarray:
    """``image`` (uint8, H x W) as another scanner might have produced it (see ``shift_steps``)."""
    return shift_steps(image, kind, seed, key)[0]
