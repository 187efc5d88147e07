"""Grading uploads, and the history a user keeps: list, fetch, pictures, delete, isolation."""

import io
import math

import numpy as np
import pytest
from api_helpers import Account, app_state, register, stored_files, upload
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin

from kneegrade_ml.grades import GRADE_NAMES


def _encode(png: bytes, image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize("model", ["mobilenetv2", "cnn", "rf"])
def test_upload_is_graded_by_the_chosen_model(
    api: TestClient, user: Account, sample_png: bytes, model: str
) -> None:
    response = upload(api, user, sample_png, model, filename="left knee.png")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["model"] == model
    assert 0 <= body["grade"] <= 4
    assert body["name"] == GRADE_NAMES[body["grade"]]
    assert len(body["probabilities"]) == 5
    assert math.isclose(sum(body["probabilities"]), 1.0, abs_tol=1e-6)
    assert body["confidence"] == max(body["probabilities"])
    assert body["probabilities_named"] == dict(zip(GRADE_NAMES, body["probabilities"]))
    assert body["original_filename"] == "left knee.png"
    assert body["model_version"] == app_state(api).registry.get(model).version
    assert body["image_url"] == f"/api/predictions/{body['id']}/image"
    assert body["thumbnail_url"] == f"/api/predictions/{body['id']}/thumbnail"


def test_default_model_is_mobilenetv2(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    assert upload(api, user, sample_png).json()["model"] == "mobilenetv2"


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "BMP", "TIFF"])
def test_formats_are_detected_from_the_bytes_and_kept_as_png_pixels(
    api: TestClient, user: Account, sample_png: bytes, image_format: str
) -> None:
    data = _encode(sample_png, image_format)
    created = upload(api, user, data, "rf", filename="scan.exe")
    assert created.status_code == 201, created.text
    image = api.get(created.json()["image_url"], headers=user.headers)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    sent = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(image.content))), sent
    )
    assert sorted(p.name.split(".", 1)[1] for p in stored_files(api, user)) == [
        "0.thumb.png",
        "png",
    ]


def test_embedded_text_never_reaches_the_disk_or_goes_back_out(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    secret = "Patient: Jane Roe, born 1950-01-02"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", secret)
    png = io.BytesIO()
    Image.open(io.BytesIO(sample_png)).save(png, format="PNG", pnginfo=info)
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(sample_png)).save(jpeg, format="JPEG", comment=secret)
    for data in (png.getvalue(), jpeg.getvalue()):
        assert secret.encode() in data
        made = upload(api, user, data, "rf").json()
        served = api.get(made["image_url"], headers=user.headers).content
        assert secret.encode() not in served
    for path in stored_files(api, user):
        assert secret.encode() not in path.read_bytes()


def test_client_path_in_the_file_name_is_dropped(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    body = upload(api, user, sample_png, "rf", filename="../../etc/knee.png").json()
    assert body["original_filename"] == "knee.png"
    assert all(p.parent.name == str(user.id) for p in stored_files(api, user))


def test_thumbnail_is_a_small_png(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    created = upload(api, user, sample_png, "rf").json()
    response = api.get(created["thumbnail_url"], headers=user.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    thumbnail = Image.open(io.BytesIO(response.content))
    assert thumbnail.format == "PNG"
    assert max(thumbnail.size) == 128


def test_list_is_newest_first_and_paginated(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    ids = [upload(api, user, sample_png, "rf").json()["id"] for _ in range(3)]
    page = api.get("/api/predictions", headers=user.headers).json()
    assert page["total"] == 3 and page["limit"] == 20 and page["offset"] == 0
    assert [p["id"] for p in page["items"]] == ids[::-1]
    second = api.get(
        "/api/predictions", params={"limit": 2, "offset": 2}, headers=user.headers
    ).json()
    assert [p["id"] for p in second["items"]] == [ids[0]]
    assert second["total"] == 3


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
def test_list_bounds_are_422(api: TestClient, user: Account, params: dict) -> None:
    response = api.get("/api/predictions", params=params, headers=user.headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(next(iter(params)))


def test_get_one(api: TestClient, user: Account, sample_png: bytes) -> None:
    created = upload(api, user, sample_png, "cnn").json()
    response = api.get(f"/api/predictions/{created['id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == created


def test_unknown_prediction_is_404(api: TestClient, user: Account) -> None:
    for path in ("", "/image", "/thumbnail"):
        response = api.get(f"/api/predictions/999999{path}", headers=user.headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "prediction 999999 not found"}
    assert (
        api.delete("/api/predictions/999999", headers=user.headers).status_code == 404
    )


def test_delete_hides_the_prediction_everywhere(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    created = upload(api, user, sample_png, "rf").json()
    assert api.get(created["heatmap_url"], headers=user.headers).status_code == 200
    response = api.delete(f"/api/predictions/{created['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    for suffix in ("/image", "/thumbnail", "/heatmap", "/report", "/fhir"):
        path = f"/api/predictions/{created['id']}{suffix}"
        assert api.get(path, headers=user.headers).status_code == 404
    assert api.get("/api/stats", headers=user.headers).json()["total"] == 0
    assert (
        api.get(f"/api/predictions/{created['id']}", headers=user.headers).status_code
        == 404
    )
    assert api.get("/api/predictions", headers=user.headers).json()["total"] == 0


def test_users_only_ever_see_their_own(api: TestClient, sample_png: bytes) -> None:
    alice, bob = register(api), register(api)
    mine = upload(api, alice, sample_png, "rf").json()
    path = f"/api/predictions/{mine['id']}"
    for suffix in ("", "/image", "/thumbnail"):
        assert api.get(path + suffix, headers=bob.headers).status_code == 404
    assert api.delete(path, headers=bob.headers).status_code == 404
    assert api.get("/api/predictions", headers=bob.headers).json()["total"] == 0
    assert api.get("/api/stats", headers=bob.headers).json()["total"] == 0
    assert api.get(path, headers=alice.headers).status_code == 200
    assert len(stored_files(api, alice)) == 2  # the image and its thumbnail


def test_every_prediction_carries_the_review_rules_flag(
    api: TestClient, user: Account, synthetic
) -> None:
    from kneegrade_ml.review import review_flag

    for path in sorted((synthetic / "samples").glob("*/*.png"))[:4]:
        body = upload(api, user, path.read_bytes(), "rf").json()
        flag = review_flag(body["probabilities"])
        assert (body["review_recommended"], body["review_reason"]) == (
            flag.recommended,
            flag.reason,
        )
