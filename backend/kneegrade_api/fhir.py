"""A prediction as a FHIR R4 (R4B) DiagnosticReport, for electronic records: the KL grade as a
contained Observation with the five probabilities, the model as a contained Device, the PDF report
linked. No patient: KneeGrade keeps no patient identity, so the record system links the report.

Codes: HL7's radiology category (v2-0074 ``RAD``) and observation category ``imaging``, SNOMED CT
72696002 "Knee region structure" for the body site. There is no LOINC or SNOMED CT code for "KL
grade of a knee radiograph" that we could verify, so the grade and its probabilities use
KneeGrade's own code system (``KL_SYSTEM``), with the KL names as displays.
"""

from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from kneegrade_api.schemas import PredictionOut
from kneegrade_ml.serving import GRADE_NAMES

KL_SYSTEM = "https://kneegrade.example/fhir/CodeSystem/kellgren-lawrence"
CODES_SYSTEM = "https://kneegrade.example/fhir/CodeSystem/kneegrade"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def _concept(system: str, code: str, display: str) -> dict:
    return {
        "coding": [{"system": system, "code": code, "display": display}],
        "text": display,
    }


def diagnostic_report(out: PredictionOut) -> DiagnosticReport:
    """The report for one graded knee, validated by ``fhir.resources``."""
    when = out.created_at.isoformat()
    side = f"{out.side.capitalize()} knee" if out.side else "Knee (side not known)"
    observation = {
        "resourceType": "Observation",
        "id": "kl-grade",
        "status": "preliminary",
        "category": [
            _concept(
                "http://terminology.hl7.org/CodeSystem/observation-category",
                "imaging",
                "Imaging",
            )
        ],
        "code": _concept(CODES_SYSTEM, "kl-grade", "Kellgren-Lawrence grade"),
        "valueCodeableConcept": _concept(KL_SYSTEM, str(out.grade), out.name),
        "bodySite": {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "72696002",
                    "display": "Knee region structure",
                }
            ],
            "text": side,
        },
        "effectiveDateTime": when,
        "device": {"reference": "#model"},
        "component": [
            {
                "code": _concept(
                    CODES_SYSTEM,
                    f"probability-kl-{grade}",
                    f"Probability of KL {grade} ({name})",
                ),
                "valueQuantity": {
                    "value": round(p, 6),
                    "unit": "1",
                    "system": UCUM,
                    "code": "1",
                },
            }
            for grade, (name, p) in enumerate(
                zip(GRADE_NAMES, out.probabilities, strict=True)
            )
        ],
        "interpretation": [{"text": out.review_reason}]
        if out.review_recommended
        else None,
        "note": [{"text": out.model_warning}] if out.model_warning else None,
    }
    device = {
        "resourceType": "Device",
        "id": "model",
        "deviceName": [{"name": out.model_name, "type": "model-name"}],
        "version": [{"value": out.model_version}],
        "note": [{"text": f"Trained on {out.model_trained_on}"}]
        if out.model_trained_on
        else None,
    }
    review = (
        f" Review recommended: {out.review_reason}" if out.review_recommended else ""
    )
    return DiagnosticReport.model_validate(
        {
            "resourceType": "DiagnosticReport",
            "id": f"kneegrade-{out.id}",
            "status": "preliminary",
            "category": [
                _concept(
                    "http://terminology.hl7.org/CodeSystem/v2-0074", "RAD", "Radiology"
                )
            ],
            "code": _concept(
                CODES_SYSTEM, "knee-oa-grading", "Knee osteoarthritis grading"
            ),
            "effectiveDateTime": when,
            "issued": when,
            "performer": [
                {
                    "reference": "#model",
                    "display": f"{out.model_name} {out.model_version}",
                }
            ],
            "result": [{"reference": "#kl-grade"}],
            "conclusion": f"{side}: KL {out.grade} ({out.name}), {out.confidence:.0%} confidence.{review}"
            " Decision support: a clinician reads the image and decides.",
            "presentedForm": [
                {
                    "contentType": "application/pdf",
                    "url": out.report_url,
                    "title": "KneeGrade report",
                }
            ],
            "contained": [_without_none(device), _without_none(observation)],
        }
    )


def _without_none(resource: dict) -> dict:
    return {key: value for key, value in resource.items() if value is not None}
