"""A prediction as a FHIR DiagnosticReport a record system can file."""

from __future__ import annotations

from api_helpers import Account, register, upload
from fastapi.testclient import TestClient
from fhir.resources.R4B.diagnosticreport import DiagnosticReport


def test_a_prediction_is_a_valid_diagnostic_report(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    made = upload(api, user, sample_png, "mobilenetv2").json()
    response = api.get(f"/api/predictions/{made['id']}/fhir", headers=user.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    report = DiagnosticReport.model_validate_json(response.content)
    assert report.status == "preliminary" and report.category[0].coding[0].code == "RAD"
    contained = {resource.id: resource for resource in report.contained}
    grade = contained["kl-grade"]
    assert grade.valueCodeableConcept.coding[0].code == str(made["grade"])
    assert grade.valueCodeableConcept.coding[0].display == made["name"]
    probabilities = [float(c.valueQuantity.value) for c in grade.component]
    assert probabilities == [round(p, 6) for p in made["probabilities"]]
    assert grade.bodySite.coding[0].code == "72696002"
    device = contained["model"]
    assert device.version[0].value == made["model_version"]
    assert f"KL {made['grade']} ({made['name']})" in report.conclusion
    assert report.presentedForm[0].url == made["report_url"]
    assert (grade.note is not None) == bool(made["model_warning"])


def test_fhir_reports_are_the_owners_alone(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    made = upload(api, user, sample_png, "rf").json()
    url = f"/api/predictions/{made['id']}/fhir"
    assert api.get(url, headers=register(api).headers).status_code == 404
    assert api.get(url).status_code == 401
