"""A DICOM upload keeps its study linkage (UIDs, accession number, acquisition attributes) and
nothing that identifies the patient: not in the database, the files or the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import Account, app_state, knee_dicom, register, upload
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from kneegrade_api.main import create_app
from kneegrade_api.study import study_of

STUDY_UID = "1.2.826.0.1.3680043.8.498.10113355771992"
SERIES_UID = "1.2.826.0.1.3680043.8.498.20224466881993"
LINKAGE = {
    "StudyInstanceUID": STUDY_UID,
    "SeriesInstanceUID": SERIES_UID,
    "AccessionNumber": "ACC7781",
    "Modality": "DX",
    "ImageLaterality": "R",
    "BodyPartExamined": "KNEE",
    "ViewPosition": "PA",
    "ImagerPixelSpacing": [0.15, 0.15],
    "PixelSpacing": [0.143, 0.144],
}

IDENTIFYING = {
    "PatientName": "Featherstonehaugh^Wilhelmina^Q",
    "PatientID": "MRN-77312459",
    "IssuerOfPatientID": "Ravenholm Regional Registry",
    "PatientBirthDate": "19470823",
    # Times carry a fraction: six digits alone turn up by chance in generated UIDs (about 39
    # random digits each) and timestamps ("031415" was found in "...1203141512", a file written
    # at 14:15 on the 3rd; "101112" in a PACS copy), and these are looked for in the bytes.
    "PatientBirthTime": "031415.926535",
    "PatientAge": "078Y",
    "OtherPatientIDs": "NHS-4857773456",
    "OtherPatientNames": "Smythe^Wilhelmina",
    "PatientBirthName": "Quarrington^Wilhelmina",
    "PatientMotherBirthName": "Pennyworth^Agatha",
    "PatientAddress": "17 Larkspur Crescent, Wexbridge WX4 9QT",
    "PatientTelephoneNumbers": "+44-1632-960123",
    "MedicalRecordLocator": "Cabinet B-Drawer-7",
    "MilitaryRank": "Flight-Lieutenant",
    "EthnicGroup": "Ethnogroup-Zeta",
    "Occupation": "Lighthousekeep",
    "AdditionalPatientHistory": "Fell from a lighthouse ladder in 2019",
    "PatientComments": "Prefers afternoon appointments",
    "AdmittingDiagnosesDescription": "Suspected gonarthrosis, worse on stairs",
    "InstitutionName": "St Elsewhere Infirmary",
    "InstitutionAddress": "1 Infirmary Lane, Wexbridge",
    "InstitutionalDepartmentName": "Orthopaedic Radiology Wing",
    "ReferringPhysicianName": "Crane^Frasier",
    "PerformingPhysicianName": "Quincy^Jack",
    "NameOfPhysiciansReadingStudy": "Kildare^James",
    "PhysiciansOfRecord": "Zhivago^Yuri",
    "RequestingPhysician": "Welby^Marcus",
    "OperatorsName": "Radiographer^Rosalind",
    "StationName": "XRAYROOM-SEVEN",
    "DeviceSerialNumber": "SN-99887766-KX",
    "StudyID": "STUDY-55501",
    "StudyDescription": "Knee weight-bearing series for Wilhelmina",
    "SeriesDescription": "PA knee of Featherstonehaugh",
    "StudyDate": "20250314",
    "StudyTime": "101112.718281",
    "ContentDate": "20250315",
    "AcquisitionDate": "20250316",
    "RequestedProcedureDescription": "Bilateral knees standing, Ravenholm",
    "PerformedProcedureStepID": "PPS-31337",
}
"""Attributes of the DICOM PS3.15 basic confidentiality profile, each with a value no image,
UID or number could contain by chance."""


@pytest.fixture
def client(settings_for) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for())) as client:
        yield client


@pytest.fixture
def account(client: TestClient) -> Account:
    return register(client)


def test_a_dicom_upload_keeps_its_study_and_not_its_patient(
    client: TestClient,
    account: Account,
    sample_png: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    dicom = knee_dicom(sample_png, **IDENTIFYING, **LINKAGE)
    response = upload(client, account, dicom, "rf", "knee.dcm")
    assert response.status_code == 201, response.text
    body = response.json()
    study = body["study"]
    assert study["study_instance_uid"] == STUDY_UID
    assert study["series_instance_uid"] == SERIES_UID
    assert study["sop_instance_uid"] == study_of(dicom).sop_instance_uid
    assert study["sop_class_uid"] == "1.2.840.10008.5.1.4.1.1.1.1"
    assert study["accession_number"] == "ACC7781"
    assert study["modality"] == "DX"
    assert study["laterality"] == "R"
    assert study["body_part_examined"] == "KNEE"
    assert study["view_position"] == "PA"
    assert study["pixel_spacing"] == [0.143, 0.144]
    assert study["pixel_spacing_attribute"] == "PixelSpacing"
    again = client.get(f"/api/predictions/{body['id']}", headers=account.headers)
    assert again.json()["study"] == study
    # What the other routes read back: the picture, heatmap, report and FHIR resource.
    for suffix in ("/image", "/thumbnail", "/heatmap", "/report", "/fhir"):
        fetched = client.get(
            f"/api/predictions/{body['id']}{suffix}", headers=account.headers
        )
        assert fetched.status_code == 200, suffix

    state = app_state(client)
    tables = MetaData()
    tables.reflect(state.engine)
    with state.engine.connect() as connection:
        database = repr(
            [connection.execute(select(t)).all() for t in tables.sorted_tables]
        )
    assert STUDY_UID in database  # what is kept is in there
    files = [p for p in state.settings.data_dir.rglob("*") if p.is_file()]
    assert files
    kept = {path: path.read_bytes() for path in files}
    logged = caplog.text + repr([r.__dict__ for r in caplog.records])
    for keyword, value in IDENTIFYING.items():
        assert value not in database, f"{keyword} is in the database"
        assert value not in logged, f"{keyword} is in the logs"
        for path, data in kept.items():
            assert value.encode() not in data, f"{keyword} is in {path.name}"


def test_other_uploads_have_no_study(
    client: TestClient, account: Account, sample_png: bytes
) -> None:
    response = upload(client, account, sample_png, "rf")
    assert response.status_code == 201
    assert response.json()["study"] is None


def test_only_valid_values_are_kept(sample_png: bytes) -> None:
    with pytest.warns(UserWarning, match="Invalid value for VR CS"):
        dicom = knee_dicom(
            sample_png,
            StudyInstanceUID="1.2.3",
            AccessionNumber="A" * 16,
            BodyPartExamined="knee",  # lower case: not a code string
            ImagerPixelSpacing=[0.2, 0.25],
        )
    study = study_of(dicom)
    assert study.study_instance_uid == "1.2.3"
    assert study.series_instance_uid is None
    assert study.body_part_examined == "KNEE"
    assert study.pixel_spacing == (0.2, 0.25)
    assert study.pixel_spacing_attribute == "ImagerPixelSpacing"
    assert study_of(sample_png) is None


def test_migration_0008_goes_down_and_up(tmp_path: Path) -> None:
    from alembic import command

    from kneegrade_api.migrate import alembic_config, upgrade_database

    url = f"sqlite:///{tmp_path / 'kneegrade.db'}"
    upgrade_database(url)
    command.downgrade(alembic_config(url), "0007")
    command.upgrade(alembic_config(url), "0008")
