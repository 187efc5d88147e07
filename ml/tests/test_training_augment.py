"""Radiograph augmentation: new views with the same shape, never a vertical flip, seeded."""

import pytest
import torch

from kneegrade_ml.training.augment import (
    RandomGamma,
    ScannerAugmentation,
    augment_batch,
    radiograph_augmentation,
)


def _knee_like(n: int = 6) -> torch.Tensor:
    """Images with a bright top half (femur) and dark bottom half, to tell up from down."""
    pixels = torch.zeros((n, 1, 64, 64), dtype=torch.uint8)
    pixels[:, :, :32] = 200
    pixels[:, :, 32:] = 40
    return pixels


def test_views_keep_shape_and_dtype():
    pixels = torch.randint(0, 256, (5, 1, 64, 64), dtype=torch.uint8)
    views = augment_batch(pixels, torch.Generator().manual_seed(0))
    assert views.shape == pixels.shape and views.dtype == torch.uint8
    assert not torch.equal(views, pixels)


def test_femur_stays_on_top():
    views = augment_batch(_knee_like(20), torch.Generator().manual_seed(1))
    top = views[:, :, 8:24].float().mean((1, 2, 3))
    bottom = views[:, :, 40:56].float().mean((1, 2, 3))
    assert (top > bottom + 50).all()


def test_each_image_gets_its_own_draw():
    pixels = _knee_like(1).expand(8, -1, -1, -1).contiguous()
    views = augment_batch(pixels, torch.Generator().manual_seed(2))
    assert len({v.numpy().tobytes() for v in views}) == 8


def test_same_seed_same_views_other_seed_differs():
    pixels = torch.randint(0, 256, (4, 1, 32, 32), dtype=torch.uint8)
    a = augment_batch(pixels, torch.Generator().manual_seed(3))
    b = augment_batch(pixels, torch.Generator().manual_seed(3))
    c = augment_batch(pixels, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_gamma_keeps_black_and_white():
    pixels = torch.tensor([[[0, 64, 255]]], dtype=torch.uint8)
    out = RandomGamma((2.0, 2.0))(pixels)
    assert out[0, 0, 0] == 0 and out[0, 0, 2] == 255 and out[0, 0, 1] < 64


class _EveryStep(ScannerAugmentation):
    """Every scanner step on every image (blur, not resolution: they exclude each other)."""

    EXPOSURE = NOISE = SHARPEN = JPEG = BLUR = 1.0
    RESOLUTION = 0.0


def test_scanner_views_keep_shape_dtype_and_are_seeded():
    pixels = _knee_like(4)
    a = augment_batch(pixels, torch.Generator().manual_seed(5), "scanner")
    b = augment_batch(pixels, torch.Generator().manual_seed(5), "scanner")
    standard = augment_batch(pixels, torch.Generator().manual_seed(5))
    assert a.shape == pixels.shape and a.dtype == torch.uint8
    assert torch.equal(a, b) and not torch.equal(a, standard)


def test_scanner_views_keep_the_femur_on_top():
    views = augment_batch(_knee_like(20), torch.Generator().manual_seed(6), "scanner")
    top = views[:, :, 8:24].float().mean((1, 2, 3))
    bottom = views[:, :, 40:56].float().mean((1, 2, 3))
    assert (top > bottom + 30).all()


def test_every_scanner_step_runs_and_changes_the_image():
    torch.manual_seed(0)
    pixels = _knee_like(1)[0]
    transform = _EveryStep()
    params = transform.make_params([pixels])
    assert {"gamma", "blur", "noise", "sharpen", "jpeg"} <= set(params)
    out = transform(pixels)
    assert out.shape == pixels.shape and out.dtype == torch.uint8
    assert not torch.equal(out, pixels)


def test_scanner_resolution_step_softens_a_step_edge():
    class Coarser(ScannerAugmentation):
        EXPOSURE = NOISE = SHARPEN = JPEG = BLUR = 0.0
        RESOLUTION = 1.0

    torch.manual_seed(0)
    pixels = _knee_like(1)[0]
    out = Coarser()(pixels).float()
    edge = (pixels[:, 31] - pixels[:, 32].float()).abs().max()
    assert (out[:, 31] - out[:, 32]).abs().max() < edge


def test_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_batch(_knee_like(1), kind="hospital")


def _vertical_bar(n: int) -> torch.Tensor:
    """A thin bright vertical bar on black: its tilt after a view shows the rotation drawn."""
    pixels = torch.zeros((n, 1, 64, 64), dtype=torch.uint8)
    pixels[:, :, 8:56, 31:33] = 255
    return pixels


def _tilt_degrees(view: torch.Tensor) -> float:
    """The bar's angle from vertical, from the principal axis of its bright pixels."""
    rows, cols = torch.nonzero(view[0] > 127, as_tuple=True)
    points = torch.stack([rows.float(), cols.float()])
    cov = torch.cov(points)
    angle = 0.5 * torch.atan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])
    return abs(float(torch.rad2deg(angle)))


def test_wide_positioning_rotates_further_than_standard():
    pixels = _vertical_bar(60)
    standard = augment_batch(pixels, torch.Generator().manual_seed(7))
    wide = augment_batch(pixels, torch.Generator().manual_seed(7), positioning="wide")
    standard_tilts = [_tilt_degrees(v) for v in standard]
    wide_tilts = [_tilt_degrees(v) for v in wide]
    assert max(standard_tilts) < 8
    assert max(wide_tilts) > 10 and max(wide_tilts) < 16


def test_erasing_blacks_out_one_rectangle_of_a_few_percent():
    """Erasing is the last step, so the same seed without it gives the same view around it."""
    image = torch.full((1, 64, 64), 128, dtype=torch.uint8)
    areas = []
    for seed in range(20):
        torch.manual_seed(seed)
        view = radiograph_augmentation(erase=1.0)(image)
        torch.manual_seed(seed)
        before = radiograph_augmentation()(image)
        rows, cols = torch.nonzero(view[0] != before[0], as_tuple=True)
        box = view[0, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (box == 0).all()
        areas.append(box.numel() / (64 * 64))
    assert max(areas) <= 0.13 and sum(areas) / len(areas) >= 0.03


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"positioning": "tilted"}, "unknown positioning"),
        ({"erase": 1.5}, "erasing chance"),
    ],
)
def test_bad_positioning_or_erasing_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        augment_batch(_knee_like(1), **options)
