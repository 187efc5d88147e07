"""Untrusted uploads: read within the size limit, check the pixel count, then decode and shrink.

Every upload is kept only as a PNG of its decoded 8-bit pixels: a DICOM's patient attributes,
a PNG's text chunks, a JPEG's comments and EXIF never reach the disk or go back out.
"""

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from kneegrade_api.exceptions import InvalidUpload, UnsupportedFormat, UploadTooLarge
from kneegrade_ml.serving import (
    DatasetError,
    DicomError,
    DicomTooLarge,
    UnsupportedDicom,
    is_dicom,
    read_dicom,
    read_image,
)

FORMATS = frozenset({"PNG", "JPEG", "MPO", "BMP", "TIFF"})
"""What Pillow may identify an upload as."""
ACCEPTED = "PNG, JPEG, BMP, TIFF or DICOM"
CHUNK_BYTES = 1024 * 1024
THUMBNAIL_PIXELS = 128


@dataclass(frozen=True)
class DecodedUpload:
    """A supported upload: the PNG to store and its 8-bit grayscale pixels."""

    data: bytes
    image: Image.Image


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.4g} MiB"


def read_upload(file: BinaryIO, limit: int) -> bytes:
    """The upload's bytes, reading no more than one byte past ``limit``."""
    data = bytearray()
    while chunk := file.read(min(CHUNK_BYTES, limit + 1 - len(data))):
        data += chunk
        if len(data) > limit:
            raise UploadTooLarge(
                f"the file is larger than the upload limit of {_mib(limit)}",
            )
    if not data:
        raise InvalidUpload("the uploaded file is empty")
    return bytes(data)


def _probe(data: bytes) -> tuple[str | None, int, int]:
    """Format and size from the header alone: nothing is decompressed yet."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                return im.format, im.width, im.height
        except Image.DecompressionBombError as err:
            raise UploadTooLarge(f"the image is too large: {err}") from err
        except Exception as err:  # Pillow raises OSError, ValueError, SyntaxError, ...
            raise InvalidUpload(
                f"the file is not an image: upload a {ACCEPTED} file",
            ) from err


def decode_upload(data: bytes, max_pixels: int, max_side: int) -> DecodedUpload:
    """Decode an upload whose format is detected from its bytes, never from its name or type,
    scaled down (aspect kept) so its longer side is at most ``max_side``: every later step (the
    stored PNG, heatmaps, reports) then costs what a radiograph of that size costs."""
    image = _decode(data, max_pixels)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return DecodedUpload(png_bytes(image), image)


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    if is_dicom(data):
        return _decode_dicom(data, max_pixels)
    image_format, width, height = _probe(data)
    if image_format not in FORMATS:
        raise UnsupportedFormat(
            f"{image_format} images are not accepted: upload a {ACCEPTED} file",
        )
    if width * height > max_pixels:
        raise UploadTooLarge(
            f"the image is {width}x{height} pixels, above the limit of"
            f" {max_pixels:,} pixels",
        )
    try:
        return read_image(data)
    except DatasetError as err:
        raise InvalidUpload(
            f"the {image_format} image is corrupt or truncated and cannot be decoded",
        ) from err


def _decode_dicom(data: bytes, max_pixels: int) -> Image.Image:
    """The DICOM's displayed pixels (rescale, VOI, MONOCHROME1 inverted), to be stored as a PNG."""
    try:
        image = read_dicom(data, max_pixels)
    except DicomTooLarge as err:
        raise UploadTooLarge(str(err)) from err
    except UnsupportedDicom as err:
        raise UnsupportedFormat(str(err)) from err
    except DicomError as err:
        raise InvalidUpload(f"malformed DICOM file: {err}") from err
    return image


def png_bytes(image: Image.Image) -> bytes:
    """The image as PNG bytes, quickly: zlib level 1 (lossless all the same)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def thumbnail_png(image: Image.Image) -> bytes:
    """A PNG no larger than 128 px on its longer side, for history lists."""
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    return png_bytes(thumbnail)
