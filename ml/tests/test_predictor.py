"""The inference interface: one loaded model, any image source, clear errors for bad models."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from kneegrade_ml.bundle import ModelLoadError
from kneegrade_ml.data.errors import DatasetError
from kneegrade_ml.predictor import Predictor

KINDS = ["mobilenetv2", "cnn", "rf"]


@pytest.fixture(scope="module")
def sample_image(tiny_synthetic):
    return next(tiny_synthetic.glob("samples/3/*.png"))


@pytest.mark.parametrize("kind", KINDS)
def test_prediction_from_path_bytes_and_pil_agree(trained_models, sample_image, kind):
    predictor = Predictor(trained_models[kind])
    from_path = predictor.predict(sample_image)
    from_bytes = predictor.predict(sample_image.read_bytes())
    from_pil = predictor.predict(Image.open(sample_image))
    assert from_path == from_bytes == from_pil
    assert sum(from_path.probabilities) == pytest.approx(1.0)
    assert len(from_path.probabilities) == 5
    assert from_path.grade == int(np.argmax(from_path.probabilities))
    assert from_path.confidence == max(from_path.probabilities)
    assert (
        from_path.name
        == ["Normal", "Doubtful", "Mild", "Moderate", "Severe"][from_path.grade]
    )


def test_batch_matches_single_predictions(trained_models, tiny_synthetic):
    predictor = Predictor(trained_models["cnn"])
    images = sorted(tiny_synthetic.glob("samples/*/*.png"))
    batch = predictor.predict_batch(images)
    for image, prediction in zip(images, batch, strict=True):
        single = predictor.predict(image)
        assert single.grade == prediction.grade
        np.testing.assert_allclose(
            single.probabilities, prediction.probabilities, atol=1e-5
        )


def test_colour_and_16_bit_images_grade_as_their_8_bit_gray(trained_models):
    """Colour is read as its luminance; 16-bit is rescaled over its own range, not clipped."""
    predictor = Predictor(trained_models["cnn"])
    rgb = Image.fromarray(
        np.random.default_rng(0).integers(0, 255, (300, 260, 3), dtype=np.uint8)
    )
    wide = np.linspace(0, 4000, 224 * 224).reshape(224, 224)
    buffer = io.BytesIO()
    Image.fromarray(wide.astype(np.uint16)).save(buffer, format="PNG")
    gray8 = Image.fromarray(
        np.rint(wide.astype(np.uint16) * (255 / 4000)).astype(np.uint8)
    )
    pairs = ((rgb, rgb.convert("L")), (buffer.getvalue(), gray8))
    for image, expected in pairs:
        np.testing.assert_allclose(
            predictor.predict(image).probabilities,
            predictor.predict(expected).probabilities,
            atol=1e-6,
        )
    clipped = Image.fromarray(np.clip(wide, 0, 255).astype(np.uint8))
    assert not np.allclose(
        predictor.predict(buffer.getvalue()).probabilities,
        predictor.predict(clipped).probabilities,
        atol=1e-6,
    )


def test_bytes_that_are_not_an_image_are_refused(trained_models):
    with pytest.raises(DatasetError, match="cannot read image"):
        Predictor(trained_models["rf"]).predict(b"%PDF-1.7 definitely not a radiograph")


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("remove dir", "does not exist"),
        ("remove card", "model.json is missing"),
        ("garble card", "not valid JSON"),
        ("unknown kind", "unknown model kind"),
        ("config without input", "malformed model config"),
        ("older card without input spec", "malformed model config"),
        ("remove weights", "is missing"),
        ("garble weights", "does not match the sha256"),
        ("garble weights of an older card", "cannot load weights"),
    ],
)
def test_broken_model_directories_give_clear_errors(
    trained_models, tmp_path, breakage, message
):
    model = tmp_path / "model"
    shutil.copytree(trained_models["cnn"], model)
    card = model / "model.json"
    if breakage == "remove dir":
        shutil.rmtree(model)
    elif breakage == "remove card":
        card.unlink()
    elif breakage == "garble card":
        card.write_text("{not json")
    elif breakage == "unknown kind":
        card.write_text(json.dumps({**json.loads(card.read_text()), "kind": "svm"}))
    elif breakage == "config without input":
        card.write_text(
            json.dumps({**json.loads(card.read_text()), "config": {"kind": "cnn"}})
        )
    elif breakage == "older card without input spec":
        older = {k: v for k, v in json.loads(card.read_text()).items() if k != "config"}
        card.write_text(json.dumps({**older, "input": None}))
    elif breakage == "remove weights":
        (model / "model.pt").unlink()
    else:
        (model / "model.pt").write_bytes(b"\x00garbage")
    if breakage.endswith("older card"):
        card.write_text(json.dumps({**json.loads(card.read_text()), "files": None}))
    with pytest.raises(ModelLoadError, match=message):
        Predictor(model)
