"""Bad uploads get a clear JSON 4xx and leave nothing behind: no file, no row."""

import io
import struct
import zlib
from collections.abc import Iterator

import numpy as np
import pytest
from api_helpers import Account, app_state, register, stored_files, upload
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from kneegrade_api.main import create_app
from kneegrade_api.models import Prediction


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` grayscale pixels but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def _rows(api: TestClient, account: Account) -> int:
    with app_state(api).sessions() as session:
        query = select(func.count()).where(Prediction.user_id == account.id)
        return session.scalar(query)


def _assert_rejected(
    api: TestClient, account: Account, response, code: int, words: str
) -> None:
    assert response.status_code == code, response.text
    assert response.headers["content-type"] == "application/json"
    assert words in response.json()["detail"]
    assert stored_files(api, account) == []
    assert _rows(api, account) == 0


def _gif(png: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).save(buffer, format="GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda png: b"", 422, "empty"),
        (lambda png: b"this is not an image at all", 422, "not an image"),
        (lambda png: b"%PDF-1.7\n" + b"0" * 500, 422, "not an image"),
        (lambda png: png[: len(png) // 2], 422, "corrupt or truncated"),
        (lambda png: png[:100] + b"\x00" * 200 + png[300:], 422, "corrupt"),
        (_gif, 415, "GIF images are not accepted"),
        (lambda png: _png_header(10_000, 6_000), 413, "above the limit of 50,000,000"),
        (lambda png: _png_header(100_000, 100_000), 413, "too large"),
    ],
    ids=["empty", "text", "pdf", "truncated", "garbled", "gif", "over-limit", "bomb"],
)
def test_bad_file_is_rejected(
    api: TestClient, user: Account, sample_png: bytes, make, code: int, words: str
) -> None:
    _assert_rejected(api, user, upload(api, user, make(sample_png), "rf"), code, words)


def test_unknown_model_is_422_listing_the_choices(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    response = upload(api, user, sample_png, "resnet")
    _assert_rejected(api, user, response, 422, "unknown model 'resnet'")
    assert "loaded: cnn, mobilenetv2, rf" in response.json()["detail"]


def test_missing_file_is_422(api: TestClient, user: Account) -> None:
    response = api.post("/api/predictions", headers=user.headers, data={"model": "rf"})
    _assert_rejected(api, user, response, 422, "file")


def test_upload_needs_a_token(api: TestClient, sample_png: bytes) -> None:
    response = api.post("/api/predictions", files={"file": ("k.png", sample_png)})
    assert response.status_code == 401


@pytest.fixture
def small_limits(settings_for) -> Iterator[TestClient]:
    """An app that takes uploads of at most 10 kB and 100x100 pixels, with only the RF."""
    settings = settings_for(max_upload_bytes=10_000, max_image_pixels=10_000)
    with TestClient(create_app(settings)) as client:
        yield client


def test_file_over_the_upload_limit_is_413(small_limits: TestClient) -> None:
    account = register(small_limits)
    response = upload(small_limits, account, b"\x89PNG" + b"\x00" * 10_001, "rf")
    _assert_rejected(small_limits, account, response, 413, "upload limit")


def test_body_over_the_limit_is_refused_from_its_declared_length(
    small_limits: TestClient,
) -> None:
    account = register(small_limits)
    response = upload(small_limits, account, b"\x00" * 200_000, "rf")
    _assert_rejected(small_limits, account, response, 413, "larger than the limit")


def test_streamed_body_over_the_limit_is_cut_off_while_reading(
    small_limits: TestClient,
) -> None:
    account = register(small_limits)
    boundary = "kneegrade"

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.png"\r\n\r\n'
        ).encode()
        for _ in range(100):
            yield b"\x00" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    response = small_limits.post(
        "/api/predictions",
        headers={
            **account.headers,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body(),
    )
    _assert_rejected(small_limits, account, response, 413, "larger than the limit")


def test_image_over_the_pixel_limit_is_413(small_limits: TestClient) -> None:
    account = register(small_limits)
    buffer = io.BytesIO()
    Image.new("L", (200, 100)).save(buffer, format="PNG")
    response = upload(small_limits, account, buffer.getvalue(), "rf")
    _assert_rejected(small_limits, account, response, 413, "200x100 pixels")


def test_model_not_served_here_is_422(
    small_limits: TestClient, sample_png: bytes
) -> None:
    account = register(small_limits)
    response = upload(small_limits, account, sample_png, "cnn")
    _assert_rejected(small_limits, account, response, 422, "unknown model 'cnn'")
    assert "loaded: rf" in response.json()["detail"]


def test_a_failed_database_write_leaves_no_files(
    api: TestClient, user: Account, sample_png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("kneegrade_api.crud.add_predictions", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        upload(api, user, sample_png, "rf")
    assert stored_files(api, user) == []
    assert _rows(api, user) == 0


def test_a_huge_image_is_scaled_down_before_anything_else(settings_for) -> None:
    pixels = np.tile(np.linspace(0, 255, 3000, dtype=np.uint8), (900, 1))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    with TestClient(create_app(settings_for(max_image_side=1000))) as client:
        account = register(client)
        created = upload(client, account, buffer.getvalue(), "rf")
        assert created.status_code == 201, created.text
        stored = client.get(created.json()["image_url"], headers=account.headers)
        assert Image.open(io.BytesIO(stored.content)).size == (1000, 300)
        heatmap = client.get(
            created.json()["heatmap_url"],
            params={"layer": "colour"},
            headers=account.headers,
        )
        assert Image.open(io.BytesIO(heatmap.content)).size == (1000, 300)
