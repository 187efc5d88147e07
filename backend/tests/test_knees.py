"""Any framing: each knee of an upload is found, graded and stored on its own."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from api_helpers import Account, app_state, knee_dicom, register, stored_files, upload
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader

from kneegrade_api.main import create_app
from kneegrade_api.purge import purge_deleted
from kneegrade_ml.localise.scenes import random_scene
from kneegrade_ml.localise.training import synthetic_crops

LOCALISER = Path(__file__).resolve().parents[2] / "localiser"


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def knees():
    return synthetic_crops(4, seed=11)


@pytest.fixture(scope="module")
def bilateral_png(knees) -> bytes:
    rng = np.random.default_rng(2)
    scene = random_scene("bilateral", knees.pixels[0], "right", rng, knees.pixels[1])
    return _png(scene.image)


@pytest.fixture(scope="module")
def centred_png(knees) -> bytes:
    return _png(knees.pixels[2])


@pytest.fixture
def client(settings_for) -> TestClient:
    with TestClient(create_app(settings_for(localiser_dir=LOCALISER))) as client:
        yield client


@pytest.fixture
def account(client: TestClient) -> Account:
    return register(client)


def test_a_bilateral_view_gives_two_linked_knees_with_sides(
    client: TestClient, account: Account, bilateral_png: bytes
) -> None:
    response = upload(client, account, bilateral_png, filename="standing.png")
    assert response.status_code == 201, response.text
    first = response.json()
    assert [k["side"] for k in first["knees"]] == ["right", "left"]
    assert [k["side_source"] for k in first["knees"]] == ["layout", "layout"]
    right, left = first["knees"]
    assert right["box"]["x"] < left["box"]["x"]
    assert first["id"] == right["id"] and first["side"] == "right"
    other = client.get(f"/api/predictions/{left['id']}", headers=account.headers).json()
    assert other["upload_id"] == first["upload_id"] is not None
    assert other["side"] == "left" and other["knees"] == first["knees"]
    history = client.get("/api/predictions", headers=account.headers).json()
    assert history["total"] == 2
    assert {item["side"] for item in history["items"]} == {"right", "left"}
    assert all(len(item["knees"]) == 2 for item in history["items"])


def test_each_knee_has_its_own_heatmap_over_the_whole_image(
    client: TestClient, account: Account, bilateral_png: bytes
) -> None:
    knees = upload(client, account, bilateral_png).json()["knees"]
    width = Image.open(io.BytesIO(bilateral_png)).width
    for knee in knees:
        layer = client.get(
            knee["heatmap_url"], params={"layer": "colour"}, headers=account.headers
        )
        assert layer.status_code == 200
        alpha = np.asarray(Image.open(io.BytesIO(layer.content)).convert("RGBA"))[
            ..., 3
        ]
        assert alpha.shape[1] == width
        box = knee["box"]
        outside = (
            alpha[:, : max(int(box["x"]) - 2, 0)].sum()
            + alpha[:, int(box["x"] + box["width"]) + 2 :].sum()
        )
        assert outside == 0


def test_a_centred_crop_grades_exactly_as_without_the_localiser(
    client: TestClient, account: Account, centred_png: bytes, settings_for, tmp_path
) -> None:
    localised = upload(client, account, centred_png).json()
    assert len(localised["knees"]) == 1
    assert localised["box"] == {"x": 0.0, "y": 0.0, "width": 224.0, "height": 224.0}
    settings = settings_for(localiser_dir=None)
    with TestClient(create_app(settings)) as plain:
        whole = upload(plain, register(plain), centred_png).json()
    assert whole["probabilities"] == localised["probabilities"]
    assert whole["box"] == localised["box"]


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((200, 300), np.uint8), np.tile(np.arange(256, dtype=np.uint8), (128, 1))],
    ids=["blank", "gradient"],
)
def test_an_image_without_a_knee_is_422_and_keeps_nothing(
    client: TestClient, account: Account, pixels: np.ndarray
) -> None:
    response = upload(client, account, _png(pixels))
    assert response.status_code == 422
    assert "no knee joint was found" in response.json()["detail"]
    assert stored_files(client, account) == []


def test_dicom_laterality_names_a_single_knee(
    client: TestClient, account: Account, centred_png: bytes
) -> None:
    response = upload(client, account, knee_dicom(centred_png, ImageLaterality="L"))
    assert response.status_code == 201, response.text
    assert (response.json()["side"], response.json()["side_source"]) == (
        "left",
        "dicom",
    )


def test_dicom_orientation_overrides_the_bilateral_layout(
    client: TestClient, account: Account, bilateral_png: bytes
) -> None:
    flipped = knee_dicom(bilateral_png, PatientOrientation=["R", "F"])
    knees = upload(client, account, flipped).json()["knees"]
    assert [(k["side"], k["side_source"]) for k in knees] == [
        ("left", "dicom"),
        ("right", "dicom"),
    ]


def test_purging_one_knee_keeps_the_image_for_the_other(
    client: TestClient, account: Account, bilateral_png: bytes
) -> None:
    right, left = upload(client, account, bilateral_png).json()["knees"]
    gone = client.delete(f"/api/predictions/{right['id']}", headers=account.headers)
    assert gone.status_code == 204
    state = app_state(client)
    with state.sessions() as session:
        assert purge_deleted(session, state.store, older_than_days=0) == 1
    kept = client.get(f"/api/predictions/{left['id']}", headers=account.headers).json()
    assert [k["id"] for k in kept["knees"]] == [left["id"]]
    assert client.get(kept["image_url"], headers=account.headers).status_code == 200
    client.delete(f"/api/predictions/{left['id']}", headers=account.headers)
    with state.sessions() as session:
        assert purge_deleted(session, state.store, older_than_days=0) == 1
    assert stored_files(client, account) == []


def test_a_retried_bilateral_upload_is_stored_once(
    client: TestClient, account: Account, bilateral_png: bytes
) -> None:
    headers = {**account.headers, "Idempotency-Key": "standing-1"}
    answers = [
        client.post(
            "/api/predictions",
            headers=headers,
            files={"file": ("k.png", bilateral_png, "image/png")},
        ).json()
        for _ in range(2)
    ]
    assert answers[0]["knees"] == answers[1]["knees"]
    assert client.get("/api/predictions", headers=account.headers).json()["total"] == 2


def test_the_report_names_the_knee_and_the_other_one(
    client: TestClient, account: Account, bilateral_png: bytes
) -> None:
    right, left = upload(client, account, bilateral_png).json()["knees"]
    pdf = client.get(right["report_url"], headers=account.headers)
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "Right knee (from the bilateral view's layout)" in text
    assert f"Left knee: KL {left['grade']}" in text and f"#{left['id']}" in text


def test_a_batch_answers_both_knees_of_a_bilateral_file(
    client: TestClient, account: Account, bilateral_png: bytes, centred_png: bytes
) -> None:
    response = client.post(
        "/api/predictions/batch",
        headers=account.headers,
        files=[
            ("files", ("both.png", bilateral_png)),
            ("files", ("one.png", centred_png)),
        ],
    )
    results = response.json()["results"]
    assert [len(r["prediction"]["knees"]) for r in results] == [2, 1]


def test_health_reports_the_localiser(
    client: TestClient, settings_for, tmp_path
) -> None:
    assert client.get("/api/health").json()["localiser"] == "loaded"
    assert app_state(client).localiser is not None
    missing = settings_for(localiser_dir=tmp_path / "nowhere")
    with TestClient(create_app(missing)) as degraded:
        health = degraded.get("/api/health").json()
    assert (health["status"], health["localiser"]) == ("degraded", "missing")
