"""Which DICOM study an upload belongs to, so a grade links back to it; never who the patient is.

Only the linkage and acquisition attributes below are parsed (``specific_tags``), as
``kneegrade_ml.data.dicom`` parses only display ones: the patient's name, IDs, birth date,
address, the institution, the physicians and every other identifying attribute of the DICOM
PS3.15 basic confidentiality profile are never read, so they cannot reach the database, the files
or the logs. The UIDs and the accession number are kept on purpose (the basic profile would
replace or empty them): they are what a PACS or RIS files the results under.
"""

import io
import re
from dataclasses import dataclass

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from kneegrade_ml.serving import is_dicom

STUDY_TAGS = [
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "AccessionNumber",
    "Modality",
    "ImageLaterality",
    "Laterality",
    "BodyPartExamined",
    "ViewPosition",
    "PixelSpacing",
    "ImagerPixelSpacing",
]
"""The only elements parsed here."""
READ_ERRORS = (
    InvalidDicomError,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
)
"""What pydicom raises on a malformed header or value."""

_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_CODE = re.compile(r"^[A-Z0-9 _]+$")
"""A code string (CS): upper-case letters, digits, space and underscore."""


@dataclass(frozen=True)
class DicomStudy:
    """Where a DICOM upload sits in its hospital's archive, and how it was acquired."""

    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None
    sop_class_uid: str | None = None
    """What the image is (e.g. Digital X-Ray Image Storage), to reference it from an SR."""
    accession_number: str | None = None
    modality: str | None = None
    laterality: str | None = None
    """``ImageLaterality``, else the series' ``Laterality``: R, L, B (both) or U (unpaired)."""
    body_part_examined: str | None = None
    view_position: str | None = None
    pixel_spacing: tuple[float, float] | None = None
    """Millimetres between rows, then between columns, of the image as it was sent (before
    KneeGrade scaled it down, if it did)."""
    pixel_spacing_attribute: str | None = None
    """``PixelSpacing`` (calibrated at the patient) or, without it, ``ImagerPixelSpacing``
    (at the detector)."""


def study_of(data: bytes) -> DicomStudy | None:
    """The study linkage of a DICOM upload; None for any other image. A value that is not what
    its attribute allows (a UID that is not a UID, an over-long code) is dropped, not kept."""
    if not is_dicom(data):
        return None
    try:
        ds = dcmread(
            io.BytesIO(data), specific_tags=STUDY_TAGS, stop_before_pixels=True
        )
    except (
        READ_ERRORS
    ):  # the pixels were decoded already; a header failing here says nothing
        return DicomStudy()
    spacing, attribute = _spacing(ds)
    return DicomStudy(
        study_instance_uid=_uid(ds, "StudyInstanceUID"),
        series_instance_uid=_uid(ds, "SeriesInstanceUID"),
        sop_instance_uid=_uid(ds, "SOPInstanceUID"),
        sop_class_uid=_uid(ds, "SOPClassUID"),
        accession_number=_text(ds, "AccessionNumber", 16),
        modality=_code(ds, "Modality"),
        laterality=_code(ds, "ImageLaterality") or _code(ds, "Laterality"),
        body_part_examined=_code(ds, "BodyPartExamined"),
        view_position=_code(ds, "ViewPosition"),
        pixel_spacing=spacing,
        pixel_spacing_attribute=attribute,
    )


def _value(ds: Dataset, keyword: str) -> str | None:
    try:
        value = ds.get(keyword)
    except READ_ERRORS:  # a malformed value: left out
        return None
    if value is None:
        return None
    text = str(value).strip().strip("\0").strip()
    return text or None


def _uid(ds: Dataset, keyword: str) -> str | None:
    value = _value(ds, keyword)
    return value if value and len(value) <= 64 and _UID.match(value) else None


def _code(ds: Dataset, keyword: str) -> str | None:
    value = _value(ds, keyword)
    if value is None:
        return None
    value = value.upper()
    return value if len(value) <= 16 and _CODE.match(value) else None


def _text(ds: Dataset, keyword: str, length: int) -> str | None:
    value = _value(ds, keyword)
    if value is None or len(value) > length or not value.isprintable():
        return None
    return value


def _spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str | None]:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        spacing = _pair(ds, keyword)
        if spacing is not None:
            return spacing, keyword
    return None, None


def _pair(ds: Dataset, keyword: str) -> tuple[float, float] | None:
    """Two positive spacings under a metre, else None (absent, malformed or absurd)."""
    try:
        values = ds.get(keyword)
        if values is None:
            return None
        row, column = (float(v) for v in values)
    except READ_ERRORS:
        return None
    return (row, column) if 0 < row < 1000 and 0 < column < 1000 else None
