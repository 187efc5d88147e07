"""Preprocessing is one definition: resize to uint8, then scale and normalise."""

import numpy as np
import pytest
import torch
from PIL import Image

from kneegrade_ml.preprocess import GRAY_128, IMAGENET_RGB_224, InputSpec


def test_resize_gives_uint8_square_from_any_image():
    image = Image.fromarray(np.full((300, 200, 3), 200, dtype=np.uint8))
    pixels = GRAY_128.resize(image)
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 128, 128)
    assert int(pixels.min()) == int(pixels.max()) == 200


def test_imagenet_normalisation_repeats_gray_over_rgb():
    pixels = torch.full((2, 1, 224, 224), 255, dtype=torch.uint8)
    x = IMAGENET_RGB_224.normalize(pixels)
    assert x.shape == (2, 3, 224, 224) and x.dtype == torch.float32
    for c, (mean, std) in enumerate(
        zip(IMAGENET_RGB_224.mean, IMAGENET_RGB_224.std, strict=True)
    ):
        assert x[0, c, 0, 0].item() == pytest.approx((1 - mean) / std)


def test_gray_spec_scales_to_unit_range():
    pixels = torch.tensor([[[[0, 51], [102, 255]]]], dtype=torch.uint8)
    np.testing.assert_allclose(
        GRAY_128.normalize(pixels).numpy().ravel(), [0, 0.2, 0.4, 1.0]
    )


def test_spec_round_trips_through_a_model_card():
    for spec in (IMAGENET_RGB_224, GRAY_128):
        assert InputSpec.from_dict(spec.to_dict()) == spec
