"""Batch grading: several files or a zip in, one result per image out, bad files reported alone."""

import io
import zipfile

from api_helpers import Account, app_state, stored_files
from fastapi.testclient import TestClient


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _batch(api: TestClient, user: Account, files: list[tuple[str, bytes]], **data):
    return api.post(
        "/api/predictions/batch",
        headers=user.headers,
        files=[
            ("files", (name, content, "application/octet-stream"))
            for name, content in files
        ],
        data=data,
    )


def test_mixed_good_and_bad_files_grade_the_good_ones(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    response = _batch(
        api,
        user,
        [
            ("a.png", sample_png),
            ("notes.txt", b"not an image"),
            ("b.png", sample_png[:200]),
        ],
        model="rf",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["graded"], body["failed"]) == (1, 2)
    good, text, truncated = body["results"]
    assert (good["filename"], good["status"], good["error"]) == ("a.png", 201, None)
    assert good["prediction"]["model"] == "rf" and good["prediction"]["heatmap_url"]
    assert (text["status"], text["prediction"]) == (422, None)
    assert "not an image" in text["error"]
    assert truncated["status"] == 422 and truncated["filename"] == "b.png"
    history = api.get("/api/predictions", headers=user.headers).json()
    assert [p["id"] for p in history["items"]] == [good["prediction"]["id"]]
    assert len(stored_files(api, user)) == 2  # its image and thumbnail only


def test_a_zip_is_graded_member_by_member(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    archive = _zip(
        {
            "knees/left.png": sample_png,
            "knees/": b"",
            "__MACOSX/knees/._left.png": b"junk",
            "knees/readme.txt": b"hello",
            "right.png": sample_png,
        }
    )
    body = _batch(
        api, user, [("scans.zip", archive), ("c.png", sample_png)], model="cnn"
    ).json()
    assert [(r["filename"], r["status"]) for r in body["results"]] == [
        ("scans.zip/knees/left.png", 201),
        ("scans.zip/knees/readme.txt", 422),
        ("scans.zip/right.png", 201),
        ("c.png", 201),
    ]
    assert body["results"][0]["prediction"]["original_filename"] == "left.png"


def test_a_corrupt_zip_is_one_failed_item(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    corrupt = _zip({"a.png": sample_png})[:-30]
    body = _batch(
        api, user, [("broken.zip", corrupt), ("ok.png", sample_png)], model="rf"
    ).json()
    assert [r["status"] for r in body["results"]] == [422, 201]


def test_too_many_images_are_refused_before_grading(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    settings = app_state(api).settings
    limit = settings.max_batch_files
    archive = _zip({f"{i}.png": sample_png for i in range(limit + 1)})
    response = _batch(api, user, [("many.zip", archive)], model="rf")
    assert response.status_code == 413
    assert f"at most {limit}" in response.json()["detail"]
    assert api.get("/api/predictions", headers=user.headers).json()["total"] == 0


def test_batch_needs_files_a_known_model_and_a_token(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    assert api.post("/api/predictions/batch", headers=user.headers).status_code == 422
    unknown = _batch(api, user, [("a.png", sample_png)], model="resnet")
    assert unknown.status_code == 422
    anonymous = api.post(
        "/api/predictions/batch", files=[("files", ("a.png", sample_png, "image/png"))]
    )
    assert anonymous.status_code == 401
