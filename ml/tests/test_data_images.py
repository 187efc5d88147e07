"""Reading single images robustly: modes, bit depths, bytes input and failures."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kneegrade_ml.data import images
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.images import read_image

RAMP = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (4, 1))  # 4x16, values 0..240


def save(im: Image.Image, path: Path) -> Path:
    im.save(path)
    return path


def test_reads_8bit_grayscale_unchanged(tmp_path: Path) -> None:
    out = read_image(save(Image.fromarray(RAMP), tmp_path / "l.png"))
    assert out.mode == "L" and out.size == (16, 4)
    np.testing.assert_array_equal(np.asarray(out), RAMP)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_converts_colour_modes_to_grayscale(tmp_path: Path, mode: str) -> None:
    path = save(Image.fromarray(RAMP).convert(mode), tmp_path / f"{mode}.png")
    out = read_image(path)
    assert out.mode == "L"
    np.testing.assert_allclose(np.asarray(out, dtype=int), RAMP, atol=1)


def test_rescales_16bit_png_without_clipping(tmp_path: Path) -> None:
    values = np.linspace(1000, 3000, 64).astype(np.uint16).reshape(4, 16)
    path = save(Image.fromarray(values), tmp_path / "wide.png")
    with Image.open(path) as raw:
        assert raw.mode in {"I;16", "I;16B", "I"}
    out = np.asarray(read_image(path)).ravel()
    assert out.dtype == np.uint8
    assert out.min() == 0 and out.max() == 255
    assert np.all(np.diff(out.astype(int)) >= 0)
    assert len(np.unique(out)) == 64  # a ramp stays a ramp: no clipping to a flat 255


@pytest.mark.parametrize(
    "array",
    [
        np.arange(-50, 14, dtype=np.int32).reshape(4, 16),
        np.linspace(-1.0, 1.0, 64, dtype=np.float32).reshape(4, 16),
    ],
    ids=["int32", "float32"],
)
def test_rescales_32bit_int_and_float(array: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="TIFF")
    out = np.asarray(read_image(buf.getvalue()))
    assert out[0, 0] == 0 and out[-1, -1] == 255
    assert np.all(np.diff(out.ravel().astype(int)) > 0)


def test_constant_wide_image_maps_to_zero(tmp_path: Path) -> None:
    path = save(
        Image.fromarray(np.full((4, 4), 1234, dtype=np.uint16)), tmp_path / "flat.png"
    )
    assert not np.asarray(read_image(path)).any()


def test_reads_jpeg(tmp_path: Path) -> None:
    path = save(
        Image.fromarray(np.full((16, 16), 100, dtype=np.uint8)), tmp_path / "x.JPG"
    )
    out = read_image(str(path))
    assert out.mode == "L" and abs(int(np.asarray(out).mean()) - 100) <= 2


def test_reads_bytes() -> None:
    buf = io.BytesIO()
    Image.fromarray(RAMP).save(buf, format="PNG")
    np.testing.assert_array_equal(np.asarray(read_image(buf.getvalue())), RAMP)


def test_corrupt_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.png"
    path.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(DatasetError, match=re.escape(f"cannot read image {path}")):
        read_image(path)


def test_truncated_png_names_the_path(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    data = save(Image.fromarray(noise), tmp_path / "full.png").read_bytes()
    path = tmp_path / "truncated.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=re.escape(f"cannot read image {path}")):
        read_image(path)


def test_bad_bytes_and_missing_file() -> None:
    with pytest.raises(DatasetError, match="cannot read image <bytes>"):
        read_image(b"not an image")
    with pytest.raises(DatasetError, match="cannot read image nowhere.png"):
        read_image("nowhere.png")


def test_refuses_images_above_the_pixel_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(Image.fromarray(RAMP), tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 63)
    with pytest.raises(
        DatasetError, match="16x4 pixels, above the limit of 63 pixels"
    ) as info:
        read_image(path)
    assert str(path) in str(info.value)
    monkeypatch.setattr(images, "MAX_PIXELS", 64)
    assert read_image(path).size == (16, 4)
