"""Preprocessing is one definition: resize to uint8, then standardise, scale and normalise."""

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
    equalising = InputSpec(64, 3, (0.5,) * 3, (0.5,) * 3, "equalize")
    for spec in (IMAGENET_RGB_224, GRAY_128, equalising):
        assert InputSpec.from_dict(spec.to_dict()) == spec


def test_a_card_written_before_standardisation_reads_as_none():
    card = IMAGENET_RGB_224.to_dict()
    del card["standardize"]
    assert InputSpec.from_dict(card).standardize == "none"


def test_an_unknown_standardisation_is_refused():
    with pytest.raises(ValueError, match="unknown standardisation 'clahe'"):
        InputSpec(64, 1, (0.0,), (1.0,), "clahe")


def _radiograph_like(seed: int = 0) -> torch.Tensor:
    """Two uint8 (1, 64, 64) images with smooth structure and many grey levels."""
    rows = torch.linspace(0, 1, 64)[:, None] * torch.linspace(0.3, 1, 64)[None, :]
    noise = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(seed))
    return (200 * rows + 40 * noise).round().clamp(0, 255).to(torch.uint8)


def test_equalisation_undoes_a_change_of_exposure_curve():
    equalising = InputSpec(64, 1, (0.0,), (1.0,), "equalize")
    pixels = _radiograph_like()
    darker = (255 * (pixels.float() / 255) ** 1.6).round().to(torch.uint8)
    as_read = GRAY_128.normalize(pixels) - GRAY_128.normalize(darker)
    equalised = equalising.normalize(pixels) - equalising.normalize(darker)
    assert as_read.abs().mean() > 0.05
    assert equalised.abs().mean() < 0.01


def test_each_image_is_equalised_on_its_own_histogram():
    equalising = InputSpec(64, 1, (0.0,), (1.0,), "equalize")
    pixels = _radiograph_like()
    pixels[1] //= 4
    one_by_one = [equalising.standardized(image[None]) for image in pixels]
    torch.testing.assert_close(equalising.standardized(pixels), torch.cat(one_by_one))
    assert GRAY_128.standardized(pixels) is pixels
