"""What a DICOM file says about its knees: laterality, and which way the patient faces.

Only the two orientation attributes are parsed, like ``data.dicom`` parses only display ones.
"""

import io

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from kneegrade_ml.data.dicom import is_dicom
from kneegrade_ml.localise.localiser import ImageHints

_TAGS = ["ImageLaterality", "Laterality", "PatientOrientation"]
_SIDES = {"R": "right", "L": "left"}


def knee_hints(data: bytes) -> ImageHints:
    """``ImageLaterality`` (else ``Laterality``) R/L, and ``PatientOrientation``'s row
    direction: "L" means the patient's left lies to the image's right, so their right knee is
    on the image's left. Anything else, or a file that is not DICOM, says nothing."""
    if not is_dicom(data):
        return ImageHints()
    try:
        ds = dcmread(io.BytesIO(data), specific_tags=_TAGS, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError, EOFError):  # read_dicom says why
        return ImageHints()
    laterality = str(ds.get("ImageLaterality") or ds.get("Laterality") or "").upper()
    orientation = ds.get("PatientOrientation") or []
    row = str(orientation[0]).upper()[:1] if len(orientation) == 2 else ""
    return ImageHints(
        laterality=_SIDES.get(laterality),
        right_on_image_left={"L": True, "R": False}.get(row),
    )
