"""A prediction as DICOM a PACS can file: an SR, a Secondary Capture and an Encapsulated PDF, in
the input's study, with stable UIDs and no patient identity; each valid per dciodvfy when it is
installed (Debian's dicom3tools), and always readable back by pydicom and highdicom."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import highdicom as hd
import pytest
from api_helpers import Account, knee_dicom, register, upload
from fastapi.testclient import TestClient
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import EncapsulatedPDFStorage
from pypdf import PdfReader
from test_study_linkage import IDENTIFYING, STUDY_UID

from kneegrade_api.dicom_out import KINDS, SCHEME
from kneegrade_api.main import create_app

DCIODVFY = shutil.which("dciodvfy")
SOP_CLASSES = {
    "sr": hd.sr.Comprehensive3DSR,
    "sc": "1.2.840.10008.5.1.4.1.1.7",
    "pdf": EncapsulatedPDFStorage,
}


@pytest.fixture
def client(settings_for) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for())) as client:
        yield client


@pytest.fixture
def account(client: TestClient) -> Account:
    return register(client)


@pytest.fixture
def graded(client: TestClient, account: Account, sample_png: bytes) -> dict:
    """A DICOM knee full of patient details, graded."""
    response = upload(client, account, dicom_knee(sample_png), "rf", "knee.dcm")
    assert response.status_code == 201, response.text
    return response.json()


def dicom_knee(sample_png: bytes) -> bytes:
    return knee_dicom(
        sample_png,
        **IDENTIFYING,
        StudyInstanceUID=STUDY_UID,
        SeriesInstanceUID="1.2.826.0.1.3680043.8.498.77",
        AccessionNumber="ACC7781",
        ImageLaterality="L",
        BodyPartExamined="KNEE",
    )


def fetch(client: TestClient, account: Account, prediction_id: int, kind: str) -> bytes:
    response = client.get(
        f"/api/predictions/{prediction_id}/dicom",
        params={"kind": kind},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/dicom"
    return response.content


def text_items(item: Dataset) -> Iterator[tuple[str, str]]:
    """(concept code, text) of every TEXT content item below ``item``."""
    for child in item.get("ContentSequence", []):
        if child.ValueType == "TEXT":
            yield child.ConceptNameCodeSequence[0].CodeValue, child.TextValue
        yield from text_items(child)


def read(data: bytes) -> Dataset:
    return dcmread(io.BytesIO(data))


@pytest.mark.parametrize("kind", KINDS)
def test_each_output_is_in_the_input_study_without_the_patient(
    client: TestClient, account: Account, graded: dict, kind: str
) -> None:
    data = fetch(client, account, graded["id"], kind)
    ds = read(data)
    assert ds.SOPClassUID == SOP_CLASSES[kind] or (
        kind == "sr" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"
    )
    assert ds.StudyInstanceUID == STUDY_UID
    assert ds.SeriesInstanceUID != "1.2.826.0.1.3680043.8.498.77"  # a new series
    assert ds.AccessionNumber == "ACC7781"
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
        assert keyword in ds and not ds[keyword].value, keyword
    for keyword, value in IDENTIFYING.items():
        assert value.encode() not in data, keyword
    # Stable: the same instance every time, and a different one per kind.
    again = read(fetch(client, account, graded["id"], kind))
    assert again.SOPInstanceUID == ds.SOPInstanceUID
    assert again.SeriesInstanceUID == ds.SeriesInstanceUID


def test_the_kinds_are_distinct_instances(
    client: TestClient, account: Account, graded: dict
) -> None:
    datasets = [read(fetch(client, account, graded["id"], kind)) for kind in KINDS]
    assert len({ds.SOPInstanceUID for ds in datasets}) == 3
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 3


def test_the_sr_carries_the_grade_probabilities_review_model_and_side(
    client: TestClient, account: Account, graded: dict
) -> None:
    sr = hd.sr.srread(io.BytesIO(fetch(client, account, graded["id"], "sr")))
    assert sr.PreliminaryFlag == "PRELIMINARY" and sr.CompletionFlag == "COMPLETE"
    assert any(
        item.CodingSchemeDesignator == SCHEME
        for item in sr.CodingSchemeIdentificationSequence
    )
    (group,) = sr.content.get_planar_roi_measurement_groups() or [
        *sr.content.get_image_measurement_groups()
    ]
    evaluations = {
        e.name.value: e.value.value for e in group.get_qualitative_evaluations()
    }
    assert evaluations["KLGRADE"] == f"KL{graded['grade']}"
    review = codes.SCT.Yes if graded["review_recommended"] else codes.SCT.No
    assert evaluations["REVIEW"] == review.value
    probabilities = {m.name.value: m.value for m in group.get_measurements()}
    assert [probabilities[f"KLP{g}"] for g in range(5)] == pytest.approx(
        graded["probabilities"], abs=1e-6
    )
    (site,) = group.finding_sites
    assert site.value.value == codes.SCT.KneeRegionStructure.value
    assert site.laterality.value == codes.SCT.Left.value
    texts = dict(text_items(sr))
    assert texts[codes.DCM.AlgorithmName.value] == graded["model_name"]
    assert texts[codes.DCM.AlgorithmVersion.value] == graded["model_version"]
    # The X-ray it grades is its evidence, by the input's own UIDs.
    (evidence,) = sr.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == STUDY_UID
    referenced = evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert referenced.ReferencedSOPInstanceUID == graded["study"]["sop_instance_uid"]


def test_the_sc_is_the_xray_with_its_heatmap(
    client: TestClient, account: Account, graded: dict
) -> None:
    ds = read(fetch(client, account, graded["id"], "sc"))
    image = client.get(graded["image_url"], headers=account.headers)
    with Image.open(io.BytesIO(image.content)) as xray:
        assert (ds.Columns, ds.Rows) == xray.size
    assert ds.PhotometricInterpretation == "RGB" and ds.SamplesPerPixel == 3
    pixels = ds.pixel_array
    assert (pixels[..., 0] != pixels[..., 2]).any()  # coloured by the heatmap
    assert ds.Laterality == "L"


def test_the_pdf_is_the_report(
    client: TestClient, account: Account, graded: dict
) -> None:
    ds = read(fetch(client, account, graded["id"], "pdf"))
    assert ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    document = bytes(ds.EncapsulatedDocument)[: ds.EncapsulatedDocumentLength]
    assert document.startswith(b"%PDF")
    report = client.get(graded["report_url"], headers=account.headers)
    assert report.content[:8] == document[:8]
    assert (
        ds.SourceInstanceSequence[0].ReferencedSOPInstanceUID
        == (graded["study"]["sop_instance_uid"])
    )


def test_the_pdf_leaves_out_a_file_name_that_may_name_the_patient(
    client: TestClient, account: Account, sample_png: bytes
) -> None:
    name = "Featherstonehaugh-Wilhelmina-knee.dcm"
    made = upload(client, account, knee_dicom(sample_png), "rf", name).json()
    kept = client.get(made["report_url"], headers=account.headers).content
    assert "Featherstonehaugh" in pdf_text(kept)  # the user's own copy names the file
    ds = read(fetch(client, account, made["id"], "pdf"))
    sent = bytes(ds.EncapsulatedDocument)[: ds.EncapsulatedDocumentLength]
    assert "Featherstonehaugh" not in pdf_text(sent)
    assert f"scan #{made['id']}" in pdf_text(sent)


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_png_upload_gets_a_stable_study_of_its_own(
    client: TestClient, account: Account, sample_png: bytes
) -> None:
    made = upload(client, account, sample_png, "rf").json()
    first = [read(fetch(client, account, made["id"], kind)) for kind in KINDS]
    (study,) = {ds.StudyInstanceUID for ds in first}
    assert study != STUDY_UID
    assert read(fetch(client, account, made["id"], "sr")).StudyInstanceUID == study
    assert first[0].AccessionNumber in ("", None)


def test_an_unknown_kind_is_422_and_others_see_nothing(
    client: TestClient, account: Account, graded: dict
) -> None:
    url = f"/api/predictions/{graded['id']}/dicom"
    assert (
        client.get(url, params={"kind": "xml"}, headers=account.headers).status_code
        == 422
    )
    stranger = register(client)
    assert client.get(url, headers=stranger.headers).status_code == 404
    assert client.get(url).status_code == 401


@pytest.mark.skipif(
    DCIODVFY is None, reason="dciodvfy not installed (Debian: dicom3tools)"
)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("source", ["dicom", "png"])
def test_dciodvfy_finds_no_error(
    client: TestClient,
    account: Account,
    sample_png: bytes,
    kind: str,
    source: str,
    tmp_path: Path,
) -> None:
    data = dicom_knee(sample_png) if source == "dicom" else sample_png
    made = upload(client, account, data, "rf", f"knee.{source}").json()
    path = tmp_path / f"{kind}.dcm"
    path.write_bytes(fetch(client, account, made["id"], kind))
    result = subprocess.run(
        [DCIODVFY, str(path)], capture_output=True, text=True, check=False
    )
    report = result.stdout + result.stderr
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert errors == [], report
