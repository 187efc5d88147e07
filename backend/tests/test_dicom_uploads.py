"""DICOM through the upload route: graded like any image, kept as a PNG without patient details."""

import io

import numpy as np
import pytest
from api_helpers import (
    PATIENT,
    Account,
    app_state,
    dicom_bytes,
    knee_dicom,
    stored_files,
    upload,
)
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_a_dicom_is_graded_and_shown_as_the_png_it_encodes(
    api: TestClient, user: Account, sample_png: bytes, photometric: str
) -> None:
    as_png = upload(api, user, sample_png, "cnn").json()
    response = upload(api, user, knee_dicom(sample_png, photometric), "cnn", "knee.dcm")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["original_filename"] == "knee.dcm"
    assert body["probabilities"] == pytest.approx(as_png["probabilities"], abs=0.02)
    shown = api.get(body["image_url"], headers=user.headers)
    assert shown.headers["content-type"] == "image/png"
    original = np.asarray(Image.open(io.BytesIO(sample_png)).convert("L"), dtype=float)
    decoded = np.asarray(Image.open(io.BytesIO(shown.content)), dtype=float)
    assert np.corrcoef(original.ravel(), decoded.ravel())[0, 1] > 0.99  # not inverted
    assert api.get(body["heatmap_url"], headers=user.headers).status_code == 200


def test_no_patient_detail_is_stored(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    upload(api, user, knee_dicom(sample_png), "rf", "knee.dcm")
    kept = b"".join(path.read_bytes() for path in stored_files(api, user))
    with app_state(api).engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM predictions")).all()
    database = repr(rows).encode()
    for value in PATIENT.values():
        assert value.encode() not in kept + database
    assert b"DICM" not in kept


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\0" * 128 + b"DICM" + b"garbage" * 10, 422),
        (dicom_bytes(np.zeros((8, 8)))[:-40], 422),
    ],
    ids=["garbage", "truncated"],
)
def test_malformed_dicom_gets_a_clear_4xx(
    api: TestClient, user: Account, data: bytes, code: int
) -> None:
    response = upload(api, user, data, "rf", "bad.dcm")
    assert response.status_code == code
    assert "DICOM" in response.json()["detail"]
    assert stored_files(api, user) == []


def test_an_unsupported_dicom_compression_is_415(
    api: TestClient, user: Account
) -> None:
    from pydicom import dcmread, uid
    from pydicom.encaps import encapsulate

    ds = dcmread(io.BytesIO(dicom_bytes(np.zeros((8, 8)))))
    ds.file_meta.TransferSyntaxUID = uid.JPEGLossless
    ds.PixelData = encapsulate([b"\xff\xd8not-really-jpeg-lossless\xff\xd9"])
    ds["PixelData"].VR = "OB"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    response = upload(api, user, buffer.getvalue(), "rf", "ls.dcm")
    assert response.status_code == 415
    assert "JPEG Lossless" in response.json()["detail"]
