"""A prediction as DICOM a PACS can file beside its X-ray: a Structured Report (TID 1500), a
Secondary Capture of the X-ray with its heatmap, and the PDF report as Encapsulated PDF.

Same study: each goes into the study the upload came from (its StudyInstanceUID and accession
number), in a new series per kind. An upload that was not DICOM gets a study UID of its own,
derived from its upload id, so every output of it (and of its other knees) shares one study.

Stable UIDs: the series and instance UIDs are derived (``generate_uid(entropy_srcs=...)``) from
the study UID, the upload, the prediction and the kind, so downloading or sending one again gives
the same instance, which a PACS then keeps once, not twice.

No patient: KneeGrade never keeps who the patient is, so the Patient module's type 2 attributes
(name, ID, birth date, sex) are present and empty, as are the study's date, time, ID and referring
physician; the PACS links the outputs to its patient through the study UID.

Codes: there is no SNOMED CT, LOINC or DICOM (DCM) concept for "Kellgren-Lawrence grade" that we
could verify, so the grade, its five probabilities and the review flag's concept use a local
coding scheme, ``99KNEEGRADE`` (a "99" designator is DICOM's form for local schemes, PS3.3
8.1), declared in the Coding Scheme Identification Sequence. The rest are standard: SNOMED CT
72696002 "Knee region structure" with 24028007 Right / 7771000 Left as the finding site,
373066001 Yes / 373067005 No for the review flag, 168537006 "Plain radiography" as the procedure
reported, DCM 121007 "Device" as the observer, UCUM "1" for the probabilities.
"""

import datetime as dt
import io
from typing import Literal

import highdicom as hd
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import (
    DigitalXRayImageStorageForPresentation,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    generate_uid,
)
from sqlalchemy.orm import Session

from kneegrade_api import __version__, crud
from kneegrade_api.heatmaps import heatmap_of
from kneegrade_api.models import Prediction
from kneegrade_api.reports import report_pdf, xray_of
from kneegrade_api.state import AppState
from kneegrade_ml.serving import GRADE_NAMES, overlay_png, review_flag

Kind = Literal["sr", "sc", "pdf"]
KINDS: tuple[Kind, ...] = ("sr", "sc", "pdf")
MEDIA_TYPE = "application/dicom"

MANUFACTURER = "KneeGrade"
SCHEME = "99KNEEGRADE"
CODING_SCHEME = hd.coding_schemes.CodingSchemeIdentificationItem(
    designator=SCHEME,
    name="KneeGrade local codes (Kellgren-Lawrence grading)",
    responsible_organization="KneeGrade",
)
KL_GRADE = hd.sr.CodedConcept("KLGRADE", SCHEME, "Kellgren-Lawrence grade")
REVIEW = hd.sr.CodedConcept("REVIEW", SCHEME, "Clinician review recommended")
FINDING = hd.sr.CodedConcept("KNEEOA", SCHEME, "Knee osteoarthritis grading")
NO_UNITS = hd.sr.CodedConcept("1", "UCUM", "no units")
SIDES = {"right": codes.SCT.Right, "left": codes.SCT.Left}
SERIES = {
    "sr": (9101, "KneeGrade KL grade (SR)"),
    "sc": (9102, "KneeGrade heatmap (SC)"),
    "pdf": (9103, "KneeGrade report (PDF)"),
}
"""Series number and description per kind: high numbers, clear of the modality's series."""


def kl_code(grade: int) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(f"KL{grade}", SCHEME, f"KL {grade} {GRADE_NAMES[grade]}")


def probability_code(grade: int) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(
        f"KLP{grade}", SCHEME, f"Probability of KL {grade} ({GRADE_NAMES[grade]})"
    )


def side_of(prediction: Prediction) -> str | None:
    """The knee's side: as the localiser found it, else the DICOM header's R or L laterality."""
    return prediction.knee_side or {"R": "right", "L": "left"}.get(
        prediction.laterality or ""
    )


def study_uid(prediction: Prediction) -> str:
    """The input's StudyInstanceUID; for an upload that was not DICOM, one derived from the
    upload, the same for all its knees and every time."""
    if prediction.study_instance_uid:
        return prediction.study_instance_uid
    return _uid("study", _upload_key(prediction))


def _upload_key(prediction: Prediction) -> str:
    if prediction.upload_id:
        return prediction.upload_id
    return f"prediction-{prediction.id}-{prediction.created_at.isoformat()}"


def _uid(*parts: str) -> str:
    return generate_uid(entropy_srcs=["kneegrade", *parts])


def series_uid(prediction: Prediction, kind: Kind) -> str:
    """One series per kind for all the knees of an upload."""
    return _uid("series", study_uid(prediction), _upload_key(prediction), kind)


def instance_uid(prediction: Prediction, kind: Kind) -> str:
    return _uid(
        "instance",
        study_uid(prediction),
        _upload_key(prediction),
        str(prediction.id),
        kind,
    )


def dicom_output(
    session: Session, state: AppState, prediction: Prediction, kind: Kind
) -> bytes:
    """The prediction's ``kind`` of DICOM output as a Part 10 file."""
    buffer = io.BytesIO()
    dicom_dataset(session, state, prediction, kind).save_as(
        buffer, enforce_file_format=True
    )
    return buffer.getvalue()


def dicom_dataset(
    session: Session, state: AppState, prediction: Prediction, kind: Kind
) -> Dataset:
    """The prediction's ``kind`` of DICOM output; its instance number is the knee's place
    in its upload."""
    knees = crud.upload_knees(session, prediction) or [prediction]
    number = next((i for i, k in enumerate(knees, 1) if k.id == prediction.id), 1)
    if kind == "sr":
        return structured_report(prediction, number)
    if kind == "sc":
        return secondary_capture(session, state, prediction, number)
    pdf = report_pdf(session, state, prediction, with_filename=False)
    return encapsulated_pdf(prediction, number, pdf)


def _common(prediction: Prediction, kind: Kind, number: int) -> dict:
    """What every output's constructor takes: its place in the study, no patient, its dates."""
    series_number, description = SERIES[kind]
    created = prediction.created_at.astimezone(dt.UTC)
    return {
        "series_instance_uid": series_uid(prediction, kind),
        "series_number": series_number,
        "sop_instance_uid": instance_uid(prediction, kind),
        "instance_number": number,
        "manufacturer": MANUFACTURER,
        "series_description": description,
        "manufacturer_model_name": f"{prediction.model_name or prediction.model_kind}"[
            :64
        ],
        "software_versions": f"KneeGrade {__version__}; model {prediction.model_version}"[
            :64
        ],
        "content_date": created.date(),
        "content_time": created.time().replace(microsecond=0),
        "series_date": created.date(),
        "series_time": created.time().replace(microsecond=0),
    }


def _dated(dataset: Dataset, prediction: Prediction) -> Dataset:
    """The instance's creation date and time are the prediction's, so the bytes are stable."""
    created = prediction.created_at.astimezone(dt.UTC)
    dataset.InstanceCreationDate = created.strftime("%Y%m%d")
    dataset.InstanceCreationTime = created.strftime("%H%M%S")
    dataset.TimezoneOffsetFromUTC = "+0000"
    return dataset


def _source(prediction: Prediction) -> Dataset:
    """The input image as an SR's evidence: its study, series and instance, and an empty
    patient (highdicom copies the patient and study attributes from the evidence)."""
    source = Dataset()
    source.StudyInstanceUID = study_uid(prediction)
    source.SeriesInstanceUID = prediction.series_instance_uid or _uid(
        "input-series", _upload_key(prediction)
    )
    source.SOPInstanceUID = prediction.sop_instance_uid or _uid(
        "input", _upload_key(prediction)
    )
    source.SOPClassUID = (
        prediction.sop_class_uid or DigitalXRayImageStorageForPresentation
    )
    source.PatientID = None
    source.PatientName = None
    source.PatientBirthDate = None
    source.PatientSex = None
    source.AccessionNumber = prediction.accession_number
    source.StudyID = None
    source.StudyDate = None
    source.StudyTime = None
    source.ReferringPhysicianName = None
    return source


def structured_report(
    prediction: Prediction, number: int = 1
) -> hd.sr.Comprehensive3DSR:
    """A TID 1500 measurement report: the KL grade and the review flag as qualitative
    evaluations, the five probabilities as measurements, the model as the algorithm and the
    observing device, the knee (and its side, when known) as the finding site."""
    probabilities = [float(p) for p in prediction.probabilities]
    review = review_flag(probabilities)
    site = hd.sr.FindingSite(
        anatomic_location=codes.SCT.KneeRegionStructure,
        laterality=SIDES.get(side_of(prediction) or ""),
    )
    model = prediction.model_name or prediction.model_kind
    source = _source(prediction)
    references = []
    if prediction.sop_instance_uid and prediction.sop_class_uid:
        references.append(
            hd.sr.SourceImageForMeasurementGroup(
                prediction.sop_class_uid, prediction.sop_instance_uid
            )
        )
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=_uid("tracking", instance_uid(prediction, "sr")),
            identifier=f"KneeGrade prediction {prediction.id}",
        ),
        finding_type=FINDING,
        algorithm_id=hd.sr.AlgorithmIdentification(
            name=model[:64],
            version=prediction.model_version[:64],
            manufacturer="KneeGrade",
        ),
        finding_sites=[site],
        measurements=[
            hd.sr.Measurement(name=probability_code(grade), value=p, unit=NO_UNITS)
            for grade, p in enumerate(probabilities)
        ],
        qualitative_evaluations=[
            hd.sr.QualitativeEvaluation(KL_GRADE, kl_code(prediction.grade)),
            hd.sr.QualitativeEvaluation(
                REVIEW, codes.SCT.Yes if review.recommended else codes.SCT.No
            ),
        ],
        source_images=references or None,
    )
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=_uid("device", prediction.model_id, prediction.model_version),
            name="KneeGrade",
            manufacturer_name="KneeGrade",
            model_name=f"{model} {prediction.model_version}"[:64],
        ),
    )
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.SCT.PlainRadiography,
        imaging_measurements=[group],
    )
    report = hd.sr.Comprehensive3DSR(
        evidence=[source],
        content=content[0],
        is_complete=True,
        is_final=False,
        is_verified=False,
        coding_schemes=[CODING_SCHEME],
        **_common(prediction, "sr", number),
    )
    return _dated(report, prediction)


def secondary_capture(
    session: Session, state: AppState, prediction: Prediction, number: int = 1
) -> hd.sc.SCImage:
    """The whole X-ray with this knee's heatmap blended in, as an RGB Secondary Capture."""
    xray = xray_of(state, prediction)
    png = overlay_png(xray, heatmap_of(session, state, prediction))
    with Image.open(io.BytesIO(png)) as picture:
        pixels = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    image = hd.sc.SCImage(
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        patient_orientation=("L", "F"),
        study_instance_uid=study_uid(prediction),
        accession_number=prediction.accession_number,
        laterality={"right": "R", "left": "L"}.get(side_of(prediction) or ""),
        transfer_syntax_uid=ExplicitVRLittleEndian,
        **_common(prediction, "sc", number),
    )
    image.PatientOrientation = None  # type 2: the way the X-ray faces is not known here
    if "Laterality" not in image:  # type 2C for a knee: present, empty if unknown
        image.Laterality = None
    image.BurnedInAnnotation = "NO"
    image.ImageComments = (
        f"KneeGrade heatmap over the X-ray: KL {prediction.grade}"
        f" {GRADE_NAMES[prediction.grade]}; decision support, not a diagnosis"
    )
    return _dated(image, prediction)


def encapsulated_pdf(
    prediction: Prediction, number: int, pdf: bytes
) -> hd.base.SOPClass:
    """The PDF report as an Encapsulated PDF instance (SOP class 1.2.840.10008.5.1.4.1.1.104.1)."""
    document = hd.base.SOPClass(
        study_instance_uid=study_uid(prediction),
        sop_class_uid=EncapsulatedPDFStorage,
        modality="DOC",
        transfer_syntax_uid=ExplicitVRLittleEndian,
        accession_number=prediction.accession_number,
        **_common(prediction, "pdf", number),
    )
    document.ConversionType = "WSD"  # a workstation made it
    document.BurnedInAnnotation = "YES"
    document.DocumentTitle = f"KneeGrade report: scan #{prediction.id}"
    document.ConceptNameCodeSequence = []
    document.AcquisitionDateTime = None
    if prediction.sop_instance_uid and prediction.sop_class_uid:
        source = Dataset()
        source.ReferencedSOPClassUID = prediction.sop_class_uid
        source.ReferencedSOPInstanceUID = prediction.sop_instance_uid
        document.SourceInstanceSequence = [source]
    document.MIMETypeOfEncapsulatedDocument = "application/pdf"
    data = pdf + b"\0" if len(pdf) % 2 else pdf  # an OB value has an even length
    document.EncapsulatedDocument = data
    document.EncapsulatedDocumentLength = len(pdf)
    return _dated(document, prediction)
