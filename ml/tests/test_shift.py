"""Scanner shift: every kind changes a tiny radiograph, keeps its shape and dtype, and is seeded."""

import numpy as np
import pytest

from kneegrade_ml.evaluation.shift import (
    KINDS,
    MIX,
    STEPS,
    mix_kinds,
    shift_image,
    shift_steps,
)


def _knee_like(size: int = 48) -> np.ndarray:
    """A bright 'femur' and 'tibia' with a dark joint space between, over a smooth background."""
    _, x = np.mgrid[:size, :size]
    image = 60 + 40 * x / size
    image[: size * 2 // 5] += 120
    image[size * 3 // 5 :] += 100
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_changes_the_image_and_keeps_shape_and_dtype(kind):
    image = _knee_like()
    changed = [shift_image(image, kind, seed=0, key=f"img_{i}.png") for i in range(4)]
    for out in changed:
        assert out.shape == image.shape and out.dtype == np.uint8
    assert any(not np.array_equal(out, image) for out in changed)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_and_key_same_image(kind):
    image = _knee_like()
    a = shift_image(image, kind, seed=3, key="9001_1.png")
    b = shift_image(image.copy(), kind, seed=3, key="9001_1.png")
    assert np.array_equal(a, b)


def test_another_seed_or_key_draws_again():
    image = _knee_like()
    a = shift_image(image, "exposure", seed=0, key="a.png")
    assert not np.array_equal(a, shift_image(image, "exposure", seed=1, key="a.png"))
    assert not np.array_equal(a, shift_image(image, "exposure", seed=0, key="b.png"))


def test_a_non_square_image_keeps_its_shape():
    image = np.tile(_knee_like(), (1, 2))[:40]
    for kind in KINDS:
        assert shift_image(image, kind, key=1).shape == (40, 96)


def test_steps_name_what_was_drawn():
    _, steps = shift_steps(_knee_like(), "jpeg", key="x.png")
    assert steps[0][0] == "jpeg" and 30 <= steps[0][1]["quality"] <= 70


def test_the_mix_always_changes_the_curve_and_draws_per_image():
    rng = np.random.default_rng(0)
    draws = [mix_kinds(rng) for _ in range(300)]
    assert all({"exposure", "window"} & set(kinds) for kinds in draws)
    assert all(not {"equalise", "sharpen"} <= set(kinds) for kinds in draws)
    assert all(kinds == [k for k in STEPS if k in kinds] for kinds in draws)
    assert len({tuple(kinds) for kinds in draws}) > 20
    used = {k for kinds in draws for k in kinds}
    assert used == set(STEPS)


def test_mix_steps_are_the_kinds_it_drew():
    _, steps = shift_steps(_knee_like(), MIX, seed=0, key="k.png")
    names = [name for name, _ in steps]
    assert names and set(names) <= set(STEPS)


def test_blur_and_resolution_soften_edges():
    image = _knee_like()
    edge = np.abs(np.diff(image.astype(float), axis=0)).max()
    for kind in ("blur", "resolution"):
        out = shift_image(image, kind, key=0).astype(float)
        assert np.abs(np.diff(out, axis=0)).max() < edge


def test_border_darkens_or_brightens_an_edge_band():
    image = np.full((50, 50), 128, dtype=np.uint8)
    out = shift_image(image, "border", key=0).astype(int)
    edges = [out[0, 25], out[-1, 25], out[25, 0], out[25, -1]]
    assert any(abs(e - 128) > 80 for e in edges)
    assert abs(out[25, 25] - 128) <= 1


def test_rejects_unknown_kinds_and_colour_images():
    with pytest.raises(ValueError, match="unknown shift"):
        shift_image(_knee_like(), "xray-vision")
    with pytest.raises(ValueError, match="uint8 grey"):
        shift_image(np.zeros((8, 8, 3), dtype=np.uint8), "blur")
