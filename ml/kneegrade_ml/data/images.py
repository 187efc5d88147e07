"""Read one image file (or bytes) as 8-bit grayscale, turning every failure into a DatasetError."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from kneegrade_ml.data.dicom import DicomError, is_dicom, read_dicom
from kneegrade_ml.data.errors import DatasetError

MAX_PIXELS = 64_000_000
"""Refuse images above 64 megapixels: far beyond any radiograph, and a guard against decompression bombs."""

_WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})


def read_image(source: Path | str | bytes) -> Image.Image:
    """Load an image as 8-bit grayscale ("L"); 16/32-bit and float images are rescaled, not clipped.

    DICOM files, recognised by content rather than name, go through ``read_dicom``.
    Raises DatasetError naming the path (or ``<bytes>``) for unreadable, corrupt or oversized images.
    """
    label = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        if _is_dicom_source(source):
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
            return read_dicom(data, MAX_PIXELS)
        with warnings.catch_warnings():
            # Our own MAX_PIXELS check decides; Pillow's global bomb warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(
                io.BytesIO(source) if isinstance(source, bytes) else source
            ) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise DatasetError(
                        f"image {label} is {im.width}x{im.height} pixels,"
                        f" above the limit of {MAX_PIXELS:,} pixels"
                    )
                im.load()
                return _to_gray8(im)
    # Keep the subclass, so callers can still tell unsupported from corrupt or too large.
    except DicomError as err:
        raise type(err)(f"cannot read image {label}: {err}") from err
    except DatasetError:
        raise
    except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError, ...
        raise DatasetError(f"cannot read image {label}: {err}") from err


def _is_dicom_source(source: Path | str | bytes) -> bool:
    """Sniff the DICOM magic; only its first 132 bytes are read from a file."""
    if isinstance(source, bytes):
        return is_dicom(source)
    with open(source, "rb") as file:
        return is_dicom(file.read(132))


def _to_gray8(im: Image.Image) -> Image.Image:
    """Convert to "L"; wide modes map their own [min, max] linearly onto [0, 255] (constant -> 0)."""
    if im.mode not in _WIDE_MODES:
        return im.convert("L")
    a = np.asarray(im, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    scaled = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return Image.fromarray(np.rint(scaled).astype(np.uint8))
