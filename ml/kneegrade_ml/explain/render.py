"""Heatmaps as pictures: a grayscale PNG to store, a see-through colour layer, an overlay.

Pillow and matplotlib only, so rendering a stored heatmap needs neither torch nor the model.
"""

import io

import numpy as np
from matplotlib import colormaps
from PIL import Image

COLORMAP = "turbo"
"""Perceptual rainbow (an improved jet): blue is cold, red is hot."""


def resize_heatmap(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``heatmap`` stretched (bilinear) to ``size`` = (width, height), float32 in [0, 1].

    Models read the image squashed to a square, so stretching the square map back is exact.
    """
    image = Image.fromarray(np.asarray(heatmap, dtype=np.float32))
    resized = image.resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized), 0.0, 1.0)


def heatmap_png(heatmap: np.ndarray) -> bytes:
    """The heatmap as an 8-bit grayscale PNG (255 is 1): small to store, exact to 1/510."""
    return _png(Image.fromarray(_to_uint8(heatmap)))


def read_heatmap_png(data: bytes) -> np.ndarray:
    """A heatmap written by ``heatmap_png``, back as float32 in [0, 1]."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"), dtype=np.float32) / 255


def colour_layer_png(heatmap: np.ndarray) -> bytes:
    """RGBA colours whose alpha is the heat, to lay over the X-ray: cold areas stay clear."""
    return _png(Image.fromarray(_colour_layer(heatmap)))


def overlay_png(
    image: Image.Image, heatmap: np.ndarray, opacity: float = 0.45
) -> bytes:
    """The grayscale X-ray under the colour layer at ``opacity``, as an RGB PNG of its size."""
    layer = Image.fromarray(_colour_layer(resize_heatmap(heatmap, image.size), opacity))
    xray = image.convert("L").convert("RGBA")
    return _png(Image.alpha_composite(xray, layer).convert("RGB"))


def _to_uint8(heatmap: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(heatmap, 0.0, 1.0) * 255).astype(np.uint8)


def _colour_layer(heatmap: np.ndarray, opacity: float = 1.0) -> np.ndarray:
    """uint8 (height, width, 4): the colormap's colour for the heat, alpha the heat x opacity."""
    heat = _to_uint8(heatmap)
    rgba = colormaps[COLORMAP](heat, bytes=True)
    rgba[..., 3] = np.rint(heat * opacity).astype(np.uint8)
    return rgba


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
