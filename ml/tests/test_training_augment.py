"""Radiograph augmentation: new views with the same shape, never a vertical flip, seeded."""

import torch

from kneegrade_ml.training.augment import RandomGamma, augment_batch


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
