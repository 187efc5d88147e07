"""DICOM decoding: display transforms, bit depths, codecs, refusals and privacy, on files built here."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom import uid
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate

from kneegrade_ml.data import dicom
from kneegrade_ml.data.dicom import (
    DicomError,
    DicomTooLarge,
    UnsupportedDicom,
    is_dicom,
    read_dicom,
)
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.data.folders import scan_split
from kneegrade_ml.data.images import read_image
from kneegrade_ml.data.loading import load_pixels
from kneegrade_ml.preprocess import GRAY_128

ROWS, COLUMNS = 48, 64
PATIENT = {
    "PatientName": "Doe^Jane",
    "PatientID": "KNEE-0042",
    "PatientBirthDate": "19600917",
}


def knee(lo: float, hi: float, dtype: type = np.uint16) -> np.ndarray:
    """48x64, from ``lo`` (bottom left) to ``hi`` (top right): dark to bright left to right, top half brighter."""
    column = np.arange(COLUMNS) / (COLUMNS - 1)
    top = (np.arange(ROWS) < ROWS // 2)[:, None]
    return np.rint(lo + (hi - lo) * (0.5 * column + 0.5 * top)).astype(dtype)


def ramp(lo: int, step: int, dtype: type = np.uint16) -> np.ndarray:
    """48x64 rows of ``lo, lo + step, ...`` left to right."""
    return np.tile(lo + step * np.arange(COLUMNS), (ROWS, 1)).astype(dtype)


def min_max8(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.float64)
    return np.rint((v - v.min()) * (255.0 / (v.max() - v.min()))).astype(np.uint8)


def dataset(
    pixels: np.ndarray,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    **elements: object,
) -> Dataset:
    """A DX image with patient details, native Explicit VR Little Endian pixels and ``elements``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = uid.DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = uid.generate_uid()
    meta.TransferSyntaxUID = uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.Modality = "DX"
    for keyword, value in {**PATIENT, **elements}.items():
        setattr(ds, keyword, value)
    ds.set_pixel_data(pixels, photometric, bits_stored or 8 * pixels.itemsize)
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    return ds


def encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def encapsulated(ds: Dataset, syntax: str, frame: bytes) -> bytes:
    """``ds`` with ``frame`` as its one encapsulated (compressed) frame under ``syntax``."""
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    return encode(ds)


def pillow_bytes(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **params)
    return buffer.getvalue()


def assert_knee(image: Image.Image) -> np.ndarray:
    """Upright and untransposed: bright top half, brightening left to right, full 0..255 contrast."""
    assert image.mode == "L" and image.size == (COLUMNS, ROWS)
    a = np.asarray(image, dtype=int)
    assert a[: ROWS // 2].mean() > a[ROWS // 2 :].mean() + 100
    assert np.all(np.diff(a, axis=1) >= 0)
    assert a[-1, 0] == 0 and a[0, -1] == 255
    return a


def test_monochrome2_8bit_is_min_max_scaled_and_upright() -> None:
    pixels = knee(20, 220, np.uint8)
    out = read_dicom(encode(dataset(pixels)))
    assert_knee(out)
    np.testing.assert_array_equal(np.asarray(out), min_max8(pixels))


@pytest.mark.parametrize(
    ("dtype", "bits_stored", "lo", "hi"),
    [
        (np.uint16, 12, 0, 4095),
        (np.uint16, 16, 100, 65535),
        (np.int16, 16, -30000, 30000),
        (np.int16, 12, -2048, 2047),
        (np.int16, 16, -3000, -1000),
    ],
    ids=["12-in-16", "16", "signed-16", "signed-12-in-16", "all-negative"],
)
def test_wide_and_signed_pixels_keep_every_level(
    dtype: type, bits_stored: int, lo: int, hi: int
) -> None:
    pixels = knee(lo, hi, dtype)
    ds = dataset(pixels, bits_stored=bits_stored)
    assert ds.PixelRepresentation == int(np.issubdtype(dtype, np.signedinteger))
    out = read_dicom(encode(ds))
    assert_knee(out)
    np.testing.assert_array_equal(np.asarray(out), min_max8(pixels))


def test_monochrome1_is_inverted_so_bone_stays_bright() -> None:
    pixels = knee(0, 4095)
    out = read_dicom(encode(dataset(4095 - pixels, "MONOCHROME1", 12)))
    np.testing.assert_array_equal(assert_knee(out), min_max8(pixels))


def test_monochrome1_inverts_within_the_window() -> None:
    """Below the window (shown white in MONOCHROME1) comes out white; above it, black."""
    pixels = ramp(0, 10)  # 0..630
    out = np.asarray(
        read_dicom(
            encode(
                dataset(pixels, "MONOCHROME1", 12, WindowCenter=315, WindowWidth=200)
            )
        )
    )
    assert np.all(out[:, pixels[0] < 200] == 255)
    assert np.all(out[:, pixels[0] > 420] == 0)


def test_window_clips_outside_and_spreads_inside() -> None:
    pixels = ramp(0, 10)  # 0..630
    ds = dataset(pixels, bits_stored=12, WindowCenter=315, WindowWidth=200)
    row = np.asarray(read_dicom(encode(ds)), dtype=int)[0]
    inside = (pixels[0] > 215) & (pixels[0] < 414)
    assert np.all(row[pixels[0] <= 214] == 0)
    assert np.all(row[pixels[0] >= 415] == 255)
    assert np.all(np.diff(row[inside]) > 0)
    np.testing.assert_allclose(
        row[inside], (pixels[0][inside] - 215) / 199 * 255, atol=1
    )


def test_window_uses_its_output_range_not_the_image_range() -> None:
    """An image wholly inside a wide window stays mid-grey rather than being stretched."""
    pixels = ramp(2000, 1)  # 2000..2063
    ds = dataset(pixels, bits_stored=12, WindowCenter=2048, WindowWidth=4096)
    out = np.asarray(read_dicom(encode(ds)), dtype=int)
    assert 120 <= out.min() and out.max() <= 135


def test_first_window_of_several_is_used() -> None:
    pixels = ramp(0, 10)
    single = dataset(pixels, bits_stored=12, WindowCenter=315, WindowWidth=200)
    multi = dataset(
        pixels, bits_stored=12, WindowCenter=[315, 40], WindowWidth=[200, 80]
    )
    np.testing.assert_array_equal(
        np.asarray(read_dicom(encode(multi))), np.asarray(read_dicom(encode(single)))
    )


def test_rescale_is_applied_before_the_window() -> None:
    """Stored 0..630 rescale to -1000..260; a window on -100..100 in those units picks the middle."""
    pixels = ramp(0, 10)
    ds = dataset(
        pixels,
        bits_stored=12,
        RescaleSlope=2,
        RescaleIntercept=-1000,
        WindowCenter=0,
        WindowWidth=200,
    )
    row = np.asarray(read_dicom(encode(ds)), dtype=int)[0]
    rescaled = 2 * pixels[0].astype(int) - 1000
    assert np.all(row[rescaled < -100] == 0)
    assert np.all(row[rescaled > 100] == 255)
    assert 0 < row[rescaled == 0][0] < 255


def test_negative_rescale_slope_flips_contrast() -> None:
    pixels = knee(0, 4095)
    out = read_dicom(
        encode(
            dataset(4095 - pixels, bits_stored=12, RescaleSlope=-1, RescaleIntercept=0)
        )
    )
    np.testing.assert_array_equal(assert_knee(out), min_max8(pixels))


def test_voi_lut_takes_precedence_over_the_window() -> None:
    """A step LUT at 2000 gives a hard black/white edge the window alone would not."""
    pixels = ramp(0, 64)  # 0..4032
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 16]
    lut.add_new("LUTData", "US", [0] * 2000 + [4095] * 2096)
    ds = dataset(pixels, bits_stored=12, WindowCenter=2048, WindowWidth=4096)
    ds.VOILUTSequence = [lut]
    out = np.asarray(read_dicom(encode(ds)))
    np.testing.assert_array_equal(out, np.where(pixels >= 2000, 255, 0))


def test_modality_lut_sequence_is_applied() -> None:
    pixels = ramp(0, 1, np.uint8)  # 0..63
    lut = Dataset()
    lut.LUTDescriptor = [64, 0, 16]
    lut.ModalityLUTType = "US"
    lut.add_new("LUTData", "US", [0] * 32 + [1000] * 32)
    ds = dataset(pixels)
    ds.ModalityLUTSequence = [lut]
    out = np.asarray(read_dicom(encode(ds)))
    np.testing.assert_array_equal(out, np.where(pixels >= 32, 255, 0))


def test_multi_frame_reads_the_first_frame() -> None:
    first = knee(0, 4095)
    out = read_dicom(encode(dataset(np.stack([first, 4095 - first]), bits_stored=12)))
    np.testing.assert_array_equal(assert_knee(out), min_max8(first))


def test_rgb_is_converted_to_grayscale() -> None:
    gray = knee(0, 255, np.uint8)
    out = read_dicom(encode(dataset(np.stack([gray] * 3, axis=-1), "RGB")))
    np.testing.assert_array_equal(assert_knee(out), gray)


def test_rle_lossless_decodes_exactly() -> None:
    pixels = knee(0, 4095)
    ds = dataset(pixels, bits_stored=12)
    ds.compress(uid.RLELossless)
    data = encode(ds)
    assert pydicom.dcmread(io.BytesIO(data)).file_meta.TransferSyntaxUID == (
        uid.RLELossless
    )
    np.testing.assert_array_equal(assert_knee(read_dicom(data)), min_max8(pixels))


def test_jpeg_baseline_decodes_approximately() -> None:
    pixels = knee(0, 255, np.uint8)
    jpeg = pillow_bytes(Image.fromarray(pixels), format="JPEG", quality=95)
    out = read_dicom(encapsulated(dataset(pixels), uid.JPEGBaseline8Bit, jpeg))
    a = np.asarray(out, dtype=int)
    assert out.size == (COLUMNS, ROWS)
    assert np.abs(a - pixels).mean() < 2
    assert a[: ROWS // 2].mean() > a[ROWS // 2 :].mean() + 100


def test_colour_jpeg_baseline_decodes_to_grayscale() -> None:
    pixels = knee(0, 255, np.uint8)
    rgb = np.stack([pixels] * 3, axis=-1)
    jpeg = pillow_bytes(Image.fromarray(rgb), format="JPEG", quality=95)
    ds = dataset(rgb, "RGB")
    ds.PhotometricInterpretation = "YBR_FULL_422"
    a = np.asarray(read_dicom(encapsulated(ds, uid.JPEGBaseline8Bit, jpeg)), dtype=int)
    assert np.abs(a - pixels).mean() < 3


def test_jpeg_2000_lossless_decodes_exactly() -> None:
    pixels = knee(0, 65535)
    j2k = pillow_bytes(
        Image.fromarray(pixels), format="JPEG2000", no_jp2=True, irreversible=False
    )
    out = read_dicom(encapsulated(dataset(pixels), uid.JPEG2000Lossless, j2k))
    np.testing.assert_array_equal(assert_knee(out), min_max8(pixels))


def test_jpeg_ls_lossless_decodes_exactly() -> None:
    """pyjpegls (CharLS, which highdicom brings) decodes JPEG-LS: PACS exports often use it."""
    pytest.importorskip("jpeg_ls")
    pixels = knee(0, 4095)
    ds = dataset(pixels, bits_stored=12)
    ds.compress(uid.JPEGLSLossless, encoding_plugin="pyjpegls")
    out = read_dicom(encode(ds))
    np.testing.assert_array_equal(assert_knee(out), min_max8(pixels))


@pytest.mark.parametrize(
    "syntax",
    [uid.JPEGLossless, uid.JPEGLosslessSV1, uid.HTJ2KLossless, uid.MPEG2MPML],
    ids=lambda syntax: syntax.name,
)
def test_undecodable_transfer_syntax_is_unsupported(syntax: uid.UID) -> None:
    data = encapsulated(
        dataset(knee(0, 255, np.uint8)), syntax, b"\xff\xd8" + bytes(64)
    )
    message = f"{syntax.name} ({syntax}) is not supported"
    with pytest.raises(UnsupportedDicom, match=re.escape(message)):
        read_dicom(data)


def test_12bit_jpeg_extended_is_unsupported() -> None:
    data = encapsulated(
        dataset(knee(0, 4095), bits_stored=12), uid.JPEGExtended12Bit, bytes(64)
    )
    with pytest.raises(UnsupportedDicom, match="not supported for 12-bit images"):
        read_dicom(data)


def test_palette_colour_is_unsupported() -> None:
    ds = dataset(knee(0, 255, np.uint8))
    ds.PhotometricInterpretation = "PALETTE COLOR"
    with pytest.raises(UnsupportedDicom, match="PALETTE COLOR is not supported"):
        read_dicom(encode(ds))


def valid() -> bytes:
    return encode(dataset(knee(0, 4095), bits_stored=12))


@pytest.mark.parametrize(
    "data",
    [
        valid()[:132],
        valid()[:300],
        valid()[: len(valid()) - 1000],
        bytes(128) + b"DICM" + np.random.default_rng(0).bytes(400),
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        b"",
    ],
    ids=[
        "magic-only",
        "truncated-meta",
        "truncated-pixels",
        "garbage",
        "png",
        "empty",
    ],
)
def test_broken_files_raise_dicom_error(data: bytes) -> None:
    with pytest.raises(DicomError, match="DICOM") as info:
        read_dicom(data)
    assert type(info.value) is DicomError


def test_missing_pixel_data_and_zero_size() -> None:
    ds = dataset(knee(0, 255, np.uint8))
    del ds.PixelData
    with pytest.raises(DicomError, match="no pixel data"):
        read_dicom(encode(ds))
    ds = dataset(knee(0, 255, np.uint8))
    ds.Rows = 0
    with pytest.raises(DicomError, match="0 pixels"):
        read_dicom(encode(ds))


def test_pixel_limit_is_checked_from_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = valid()
    assert read_dicom(data, max_pixels=ROWS * COLUMNS).size == (COLUMNS, ROWS)
    with pytest.raises(DicomTooLarge, match="64x48 pixels, above the limit of 3,071"):
        read_dicom(data, max_pixels=ROWS * COLUMNS - 1)

    def must_not_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixel data decoded")

    monkeypatch.setattr(dicom, "pixel_array", must_not_decode)
    ds = dataset(knee(0, 255, np.uint8))
    ds.Rows = ds.Columns = 65535  # a tiny file claiming a 4-gigapixel image
    with pytest.raises(DicomTooLarge, match="65535x65535"):
        read_dicom(encode(ds), max_pixels=64_000_000)


def test_errors_fit_the_dataset_error_family() -> None:
    assert issubclass(UnsupportedDicom, DicomError)
    assert issubclass(DicomTooLarge, DicomError)
    assert issubclass(DicomError, DatasetError)


def test_is_dicom() -> None:
    assert is_dicom(valid())
    assert is_dicom(bytes(128) + b"DICM")
    assert not is_dicom(b"DICM" + bytes(200))  # no preamble
    assert not is_dicom(bytes(128) + b"DICN")
    assert not is_dicom(bytes(131))
    assert not is_dicom(b"")
    assert not is_dicom(pillow_bytes(Image.new("L", (64, 48)), format="PNG"))


def test_patient_details_are_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    pydicom.config.debug(True, default_handler=False)  # pydicom's most verbose logging
    try:
        with caplog.at_level(logging.DEBUG):
            read_dicom(valid())
            with pytest.raises(UnsupportedDicom):
                read_dicom(
                    encapsulated(
                        dataset(knee(0, 255, np.uint8)), uid.JPEGLossless, bytes(64)
                    )
                )
    finally:
        pydicom.config.debug(False, default_handler=False)
    assert caplog.text  # the debug log really was captured
    for value in PATIENT.values():
        assert value not in caplog.text
        assert value.split("^")[0] not in caplog.text


@pytest.mark.parametrize("name", ["knee.dcm", "IM0001"])
def test_read_image_sniffs_dicom_by_content(tmp_path: Path, name: str) -> None:
    data = valid()
    path = tmp_path / name
    path.write_bytes(data)
    expected = np.asarray(read_dicom(data))
    np.testing.assert_array_equal(np.asarray(read_image(path)), expected)
    np.testing.assert_array_equal(np.asarray(read_image(data)), expected)
    np.testing.assert_array_equal(np.asarray(read_image(str(path))), expected)


def test_read_image_names_the_path_and_keeps_the_dicom_error_class(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lossless.dcm"
    path.write_bytes(
        encapsulated(dataset(knee(0, 255, np.uint8)), uid.JPEGLossless, bytes(64))
    )
    with pytest.raises(UnsupportedDicom, match=re.escape(f"cannot read image {path}")):
        read_image(path)
    with pytest.raises(DicomError, match="cannot read image <bytes>"):
        read_image(valid()[:300])


def test_a_folder_of_dicom_files_is_a_data_set(tmp_path: Path) -> None:
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "knee.dcm").write_bytes(valid())
    (sample,) = scan_split(tmp_path)
    pixels, grades = load_pixels([sample], GRAY_128, progress=False)
    assert grades.tolist() == [2] and pixels.shape == (1, 1, 128, 128)
    assert (
        pixels[0, 0, :64].float().mean() > pixels[0, 0, 64:].float().mean()
    )  # top bright
