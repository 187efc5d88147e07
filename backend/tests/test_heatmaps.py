"""Heatmaps: drawn at upload, stored with the prediction, served as an overlay or a colour layer."""

import io

import numpy as np
import pytest
from api_helpers import Account, register, upload
from fastapi.testclient import TestClient
from PIL import Image


def _image(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("model", ["mobilenetv2", "cnn", "rf"])
def test_every_model_draws_a_heatmap_at_the_images_size(
    api: TestClient, user: Account, sample_png: bytes, model: str
) -> None:
    wide = Image.open(io.BytesIO(sample_png)).resize((300, 200))
    body = upload(api, user, _png(wide), model).json()
    assert body["heatmap_url"] == f"/api/predictions/{body['id']}/heatmap"
    overlay = _image(api.get(body["heatmap_url"], headers=user.headers))
    assert (overlay.mode, overlay.size) == ("RGB", (300, 200))
    layer = _image(
        api.get(body["heatmap_url"], params={"layer": "colour"}, headers=user.headers)
    )
    assert (layer.mode, layer.size) == ("RGBA", (300, 200))
    alpha = np.asarray(layer)[..., 3]
    assert alpha.max() > 200 and alpha.min() < 50  # hot somewhere, clear somewhere


def _layer(api: TestClient, user: Account, png: bytes, model: str) -> np.ndarray:
    body = upload(api, user, png, model).json()
    response = api.get(
        body["heatmap_url"], params={"layer": "colour"}, headers=user.headers
    )
    return np.asarray(_image(response))[..., 3].astype(float) / 255


def test_grad_cam_responds_to_the_image(
    api: TestClient, user: Account, synthetic
) -> None:
    first, second = sorted((synthetic / "samples").glob("*/*.png"))[::5][:2]
    one = _layer(api, user, first.read_bytes(), "cnn")
    mirrored = Image.open(first).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    other = _layer(api, user, _png(mirrored), "cnn")
    assert np.abs(one - other).mean() > 0.02
    assert np.abs(one - _layer(api, user, second.read_bytes(), "cnn")).mean() > 0.02


def test_forest_importance_is_the_same_for_every_image(
    api: TestClient, user: Account, synthetic
) -> None:
    first, second = sorted((synthetic / "samples").glob("*/*.png"))[:2]
    one = _layer(api, user, first.read_bytes(), "rf")
    assert np.abs(one - _layer(api, user, second.read_bytes(), "rf")).max() <= 1 / 255


def test_heatmaps_are_the_owners_alone(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    body = upload(api, user, sample_png, "rf").json()
    stranger = register(api)
    assert api.get(body["heatmap_url"], headers=stranger.headers).status_code == 404
    assert api.get(body["heatmap_url"]).status_code == 401
    bad = api.get(body["heatmap_url"], params={"layer": "x"}, headers=user.headers)
    assert bad.status_code == 422
