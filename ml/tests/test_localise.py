"""The knee localiser: scenes with known joints, the shipped localiser on them, crops, sides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_data_dicom import dataset, encode

from kneegrade_ml.bundle import ModelLoadError
from kneegrade_ml.knees import NoKneeFound, knee_crops, place_heatmap
from kneegrade_ml.localise.align import align_dataset
from kneegrade_ml.localise.hints import knee_hints
from kneegrade_ml.localise.inputs import GRID
from kneegrade_ml.localise.joints import Joint, crop_joint
from kneegrade_ml.localise.localiser import (
    ImageHints,
    Localiser,
    assign_sides,
    is_centred_crop,
)
from kneegrade_ml.localise.network import HEAT, LOG_SIZE, RIGHT_SIDE
from kneegrade_ml.localise.scenes import blank, random_scene
from kneegrade_ml.localise.training import (
    augment,
    fit_and_save,
    real_crops,
    synthetic_crops,
)
from kneegrade_ml.training.augment import ScannerAugmentation

SHIPPED = Path(__file__).resolve().parents[2] / "localiser"


@pytest.fixture(scope="module")
def knees():
    """Six synthetic knees rendered centred: the crop is each joint's frame."""
    return synthetic_crops(6, seed=3)


@pytest.fixture(scope="module")
def localiser() -> Localiser:
    return Localiser(SHIPPED)


def _found(localiser: Localiser, image: np.ndarray) -> list[Joint]:
    return localiser.find(Image.fromarray(image))


def _centre_error(found: Joint, truth: Joint) -> float:
    return float(np.hypot(found.cx - truth.cx, found.cy - truth.cy) / truth.size)


def test_a_bilateral_scene_knows_both_frames_and_sides(knees):
    rng = np.random.default_rng(0)
    scene = random_scene("bilateral", knees.pixels[0], "right", rng, knees.pixels[1])
    right, left = scene.joints
    assert (right.side, left.side) == ("right", "left")
    assert right.cx < left.cx and right.size == left.size == 224
    x, y, size, _ = right.box
    framed = scene.image[round(y) : round(y + size), round(x) : round(x + size)]
    assert np.array_equal(framed, knees.pixels[0])


def test_a_shifted_scene_frames_the_crop_where_it_moved(knees):
    scene = random_scene("shifted", knees.pixels[2], "left", np.random.default_rng(4))
    (joint,) = scene.joints
    x, y, size, _ = joint.box
    inside = scene.image[
        max(round(y), 0) : round(y + size), max(round(x), 0) : round(x + size)
    ]
    assert inside.size > 0
    assert scene.image.shape[0] == scene.image.shape[1]


def test_blank_scenes_have_no_knee():
    assert blank((224, 600), np.random.default_rng(1)).joints == []


def test_the_scanner_look_goes_to_half_the_scenes_and_never_moves_a_frame(knees):
    """A centred crop keeps its frame when mirrored, so every draw keeps the scene's frame;
    a draw differs from the same generator's plain one (or its mirror) only by the look."""
    scene = random_scene("crop", knees.pixels[0], "left", np.random.default_rng(4))
    torch.manual_seed(0)
    scanner = ScannerAugmentation()
    draws = range(40)
    looks = [augment(scene, np.random.default_rng(s), scanner) for s in draws]
    plains = [augment(scene, np.random.default_rng(s)) for s in draws]
    assert all(
        [j.box for j in look.joints] == [j.box for j in scene.joints] for look in looks
    )
    assert all(look.image.dtype == np.uint8 for look in looks)
    given = sum(
        not any(
            np.array_equal(look.image, p) for p in (plain.image, plain.image[:, ::-1])
        )
        for look, plain in zip(looks, plains, strict=True)
    )
    assert 12 <= given <= 28


@pytest.mark.parametrize("seed", range(3))
def test_the_shipped_localiser_finds_both_knees_of_a_bilateral_view(
    localiser, knees, seed
):
    rng = np.random.default_rng(seed)
    scene = random_scene(
        "bilateral", knees.pixels[seed], "right", rng, knees.pixels[seed + 3]
    )
    found = _found(localiser, scene.image)
    assert [j.side for j in found] == ["right", "left"]
    assert {j.side_source for j in found} == {"layout"}
    for joint, truth in zip(found, scene.joints, strict=True):
        assert _centre_error(joint, truth) < 0.15
        assert 0.75 < joint.size / truth.size < 1.33


@pytest.mark.parametrize("layout", ["wide", "zoomed", "full-leg"])
def test_the_shipped_localiser_finds_one_knee_in_wider_fields(localiser, knees, layout):
    scene = random_scene(layout, knees.pixels[4], "left", np.random.default_rng(7))
    (joint,) = _found(localiser, scene.image)
    assert _centre_error(joint, scene.joints[0]) < 0.15


def test_a_centred_crop_passes_through_unchanged(localiser, knees):
    image = Image.fromarray(knees.pixels[0])
    ((joint, crop),) = localiser.crops(image)
    assert crop is image
    assert joint.box == (0.0, 0.0, 224.0, 224.0)


def _peaks(*peaks: tuple[int, int, float, float]) -> torch.Tensor:
    """Network maps for a 224 px image (letterboxed to ``INPUT_SIZE``, one cell per ``STRIDE``
    pixels): each peak a (row, col, score, frame side in image pixels), no offset, side unsure."""
    maps = torch.zeros(RIGHT_SIDE + 1, GRID, GRID)
    maps[HEAT] = -10.0
    for row, col, score, side in peaks:
        maps[HEAT, row, col] = torch.logit(torch.tensor(score))
        maps[LOG_SIZE, row, col] = float(np.log(side / 224))
    return maps[None]


def test_a_weak_peak_inside_a_crops_frame_is_not_a_second_knee(localiser, monkeypatch):
    image = Image.new("L", (224, 224))
    monkeypatch.setattr(
        localiser, "_maps", lambda _: _peaks((32, 32, 0.97, 224), (14, 14, 0.35, 98))
    )
    ((_, crop),) = localiser.crops(image)
    assert crop is image
    monkeypatch.setattr(
        localiser, "_maps", lambda _: _peaks((32, 16, 0.9, 110), (32, 48, 0.35, 110))
    )
    assert [round(j.cx) for j in localiser.find(image)] == [56, 168]


@pytest.mark.parametrize(
    "picture",
    [
        np.zeros((300, 400), np.uint8),
        np.tile(np.linspace(0, 255, 500, dtype=np.uint8), (400, 1)),
        blank((256, 256), np.random.default_rng(5)).image,
    ],
    ids=["black", "gradient", "chest-like"],
)
def test_an_image_without_a_knee_has_no_joint(localiser, picture):
    assert _found(localiser, picture) == []
    with pytest.raises(NoKneeFound, match="no knee joint"):
        knee_crops(Image.fromarray(picture), localiser)


def test_crops_are_square_and_repeat_the_edge_past_the_border():
    image = Image.fromarray(np.tile(np.arange(100, dtype=np.uint8), (50, 1)))
    crop = crop_joint(image, Joint(cx=90, cy=25, size=40, score=1.0))
    pixels = np.asarray(crop)
    assert crop.size == (40, 40)
    assert np.array_equal(pixels[:, :30], np.asarray(image)[5:45, 70:100])
    assert (pixels[:, 30:] == 99).all()


def test_a_crop_heatmap_goes_back_where_the_crop_came_from():
    joint = Joint(cx=60, cy=30, size=20, score=1.0)
    full = place_heatmap(np.ones((7, 7), np.float32), joint, (100, 50))
    assert full.shape == (50, 100)
    assert full[20:40, 50:70].min() == pytest.approx(1.0)
    assert full.sum() == pytest.approx(400.0)


def test_the_centred_crop_rule():
    image = Image.new("L", (224, 230))
    assert is_centred_crop(image, [Joint(112, 115, 220, 0.9)])
    assert not is_centred_crop(image, [Joint(112, 115, 120, 0.9)])
    assert not is_centred_crop(image, [Joint(60, 115, 220, 0.9)])
    assert not is_centred_crop(Image.new("L", (448, 224)), [Joint(224, 112, 224, 0.9)])


def test_sides_follow_dicom_then_layout():
    two = [Joint(50, 50, 80, 0.9), Joint(200, 50, 80, 0.9)]
    assert [j.side for j in assign_sides(two, ImageHints())] == ["right", "left"]
    flipped = assign_sides(two, ImageHints(right_on_image_left=False))
    assert [(j.side, j.side_source) for j in flipped] == [
        ("left", "dicom"),
        ("right", "dicom"),
    ]
    one = [Joint(50, 50, 80, 0.9, "right", "anatomy")]
    assert assign_sides(one, ImageHints(laterality="left"))[0].side == "left"
    assert assign_sides(one, ImageHints())[0].side_source == "anatomy"


def _dicom(**attributes) -> bytes:
    return encode(dataset(np.zeros((8, 8), np.uint16), **attributes))


def test_dicom_laterality_and_orientation_are_read():
    assert knee_hints(_dicom(ImageLaterality="L")) == ImageHints(laterality="left")
    assert knee_hints(_dicom(Laterality="R")).laterality == "right"
    assert (
        knee_hints(_dicom(PatientOrientation=["R", "F"])).right_on_image_left is False
    )
    assert knee_hints(_dicom(PatientOrientation=["L", "F"])).right_on_image_left is True
    assert knee_hints(_dicom()) == ImageHints()
    assert knee_hints(b"not a dicom file") == ImageHints()


def test_a_trained_localiser_round_trips_and_refuses_changed_weights(tmp_path):
    out = tmp_path / "localiser"
    card = fit_and_save(None, out, steps=2, synthetic=4, seed=0, version="0.0.1",
                        command="kneegrade train-localiser")  # fmt: skip
    assert card["trained_on"]["synthetic_crops"] == 4
    assert card["training"]["augment"] == "standard"
    assert Localiser(out).version == "0.0.1"
    with (out / "model.pt").open("ab") as weights:
        weights.write(b"x")
    with pytest.raises(ModelLoadError, match="sha256"):
        Localiser(out)


def test_the_localiser_trains_with_another_scanners_look_and_says_so(tmp_path):
    card = fit_and_save(None, tmp_path / "localiser", steps=2, synthetic=4, seed=0,
                        version="0.0.1", command="kneegrade train-localiser",
                        augmentation="scanner")  # fmt: skip
    assert card["training"]["augment"] == "scanner"
    with pytest.raises(ValueError, match="unknown augmentation"):
        fit_and_save(None, tmp_path / "other", steps=1, synthetic=4, seed=0,
                     version="0.0.1", command="", augmentation="fog")  # fmt: skip


def test_real_crops_read_sides_and_partners_from_oai_names(tmp_path):
    for name in ("9001L", "9001R", "9002L"):
        folder = tmp_path / "val" / "0"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("L", (224, 224)).save(folder / f"{name}.png")
    crops = real_crops(tmp_path / "val")
    assert crops.sides == ("left", "right", "left")
    assert list(crops.partners) == [1, 0, -1]


def test_align_cuts_every_knee_to_its_frame_and_keeps_the_data_set_kind(
    tmp_path, knees, localiser
):
    data = tmp_path / "synthetic"
    for i, pixels in enumerate(knees.pixels[:3]):
        scene = random_scene("wide", pixels, knees.sides[i], np.random.default_rng(i))
        folder = data / "test" / str(i)
        folder.mkdir(parents=True)
        Image.fromarray(scene.image).save(folder / f"knee{i}.png")
    (data / "dataset.json").write_text('{"kind": "synthetic", "seed": 0}')
    counts = align_dataset(data, tmp_path / "aligned", localiser, progress=False)
    assert sum(counts.values()) == 3 and "no knee found: copied" not in counts
    for i in range(3):
        with Image.open(
            tmp_path / "aligned" / "test" / str(i) / f"knee{i}.png"
        ) as crop:
            assert crop.width == crop.height
    record = json.loads((tmp_path / "aligned" / "dataset.json").read_text())
    assert record["kind"] == "synthetic"
    assert f"localiser {localiser.version}" in record["aligned_by"]
