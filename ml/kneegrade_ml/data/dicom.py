"""Decode a DICOM radiograph to 8-bit grayscale the way a viewer would display it.

Only the pixel data and the attributes that say how to display it (size, bit depth, photometric
interpretation, rescale, VOI LUT, window) are read: patient and study attributes are never parsed,
returned or logged.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.pixels import (
    apply_rescale,
    apply_voi,
    apply_windowing,
    get_decoder,
    pixel_array,
)
from pydicom.uid import JPEGExtended12Bit

from kneegrade_ml.data.errors import DatasetError

_DISPLAY_TAGS = [
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "PlanarConfiguration",
    "NumberOfFrames",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "ModalityLUTSequence",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "VOILUTSequence",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
    "ExtendedOffsetTable",
    "ExtendedOffsetTableLengths",
    "PixelData",
]
"""The only elements parsed from the dataset, so identifying attributes are never read."""

_GRAY = frozenset({"MONOCHROME1", "MONOCHROME2"})
_COLOUR = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT"})
"""Colour encodings that pydicom decodes to RGB."""


class DicomError(DatasetError):
    """A DICOM file that is malformed, truncated or has no usable pixel data."""


class UnsupportedDicom(DicomError):
    """A valid DICOM file whose transfer syntax or pixel encoding cannot be decoded here."""


class DicomTooLarge(DicomError):
    """A DICOM image whose header declares more pixels than allowed; nothing was decoded."""


def is_dicom(data: bytes) -> bool:
    """True for a DICOM Part 10 file: a 128-byte preamble followed by ``DICM``."""
    return data[128:132] == b"DICM"


def read_dicom(data: bytes, max_pixels: int | None = None) -> Image.Image:
    """The first frame as an "L" image: rescale, VOI LUT or window, MONOCHROME1 inverted.

    Raises DicomTooLarge (before decoding) when Rows x Columns exceeds ``max_pixels``,
    UnsupportedDicom for undecodable transfer syntaxes or encodings, DicomError otherwise.
    """
    if not is_dicom(data):
        raise DicomError(
            "not a DICOM file: no 'DICM' marker after the 128-byte preamble"
        )
    try:
        ds = dcmread(io.BytesIO(data), specific_tags=_DISPLAY_TAGS)
        _check_header(ds, max_pixels)
        frame = pixel_array(ds, index=0)
        if ds.PhotometricInterpretation in _COLOUR:
            return Image.fromarray(frame).convert("L")
        return _display_gray8(frame, ds)
    except DicomError:
        raise
    # pydicom raises InvalidDicomError, ValueError, EOFError, RuntimeError, ...
    except Exception as err:
        raise DicomError(f"cannot read DICOM: {err}") from err


def _check_header(ds: Dataset, max_pixels: int | None) -> None:
    """Refuse what cannot or must not be decoded, from the header alone."""
    if "PixelData" not in ds:
        raise DicomError("the DICOM file has no pixel data")
    rows, columns = ds.Rows, ds.Columns
    if not rows or not columns:
        raise DicomError(f"the DICOM image is {columns}x{rows} pixels")
    if max_pixels is not None and rows * columns > max_pixels:
        raise DicomTooLarge(
            f"the DICOM image is {columns}x{rows} pixels,"
            f" above the limit of {max_pixels:,} pixels"
        )
    interpretation = ds.PhotometricInterpretation
    if interpretation not in _GRAY | _COLOUR:
        raise UnsupportedDicom(
            f"DICOM photometric interpretation {interpretation} is not supported"
        )
    if interpretation in _COLOUR and ds.BitsAllocated != 8:
        raise UnsupportedDicom(
            f"{ds.BitsAllocated}-bit colour DICOM images are not supported"
        )
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        decodable = get_decoder(syntax).is_available
    except NotImplementedError:  # no pydicom decoder exists at all, e.g. video
        decodable = False
    name = f"DICOM transfer syntax {syntax.name} ({syntax})"
    if not decodable:
        raise UnsupportedDicom(f"{name} is not supported")
    # Pillow, our only JPEG decoder (the others are GPL or GDCM), reads 8-bit JPEG Extended only.
    if syntax == JPEGExtended12Bit and ds.BitsStored != 8:
        raise UnsupportedDicom(
            f"{name} is not supported for {ds.BitsStored}-bit images"
        )


def _display_gray8(frame: np.ndarray, ds: Dataset) -> Image.Image:
    """Modality then VOI transform, MONOCHROME1 inverted, the output range spread over 0..255."""
    values = apply_rescale(frame, ds)
    if ds.get("VOILUTSequence"):
        # Rescaled values are floats; a LUT is indexed by integers.
        values = apply_voi(np.rint(values).astype(np.int64), ds)
        lo, hi = float(values.min()), float(values.max())
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        values = apply_windowing(values, ds)
        # The window's own output range: what pydicom maps -inf and +inf to.
        lo, hi = apply_windowing(np.array([-np.inf, np.inf]), ds)
    else:
        lo, hi = float(values.min()), float(values.max())
    if ds.PhotometricInterpretation == "MONOCHROME1":
        values = lo + hi - values
    scaled = (values - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros(values.shape)
    return Image.fromarray(np.rint(scaled).astype(np.uint8))
