"""A realistic example report (a synthetic knee, a made-up heatmap), to check the layout in the
tests and to redraw docs/example-report.pdf:

    .venv/bin/python -c "import sys; sys.path.insert(0, 'backend/tests'); from example_report
    import example_content; from kneegrade_api.report import render_report;
    open('docs/example-report.pdf', 'wb').write(render_report(example_content()))"
"""

import io
from datetime import UTC, datetime

import numpy as np
from PIL import Image

from kneegrade_api.report import ReportContent
from kneegrade_ml.synth.params import sample_params
from kneegrade_ml.synth.render import render_knee


def example_content() -> ReportContent:
    """A realistic KL 3 report (synthetic knee, made-up heatmap), for docs and a look at the layout."""
    rng = np.random.default_rng(7)
    xray = Image.fromarray(render_knee(sample_params(3, rng), rng)).resize(
        (448, 448), Image.Resampling.BICUBIC
    )
    heat = _blob(xray.size)[..., None]
    hot = np.clip(heat * 3 - np.array([0.0, 1.0, 2.0]), 0, 1)  # black-red-yellow-white
    gray = np.asarray(xray.convert("RGB"), dtype=np.float32) / 255
    overlay = gray * (1 - 0.6 * heat) + hot * 0.6 * heat
    return ReportContent(
        prediction_id=1042,
        grade=3,
        probabilities=(0.012, 0.048, 0.327, 0.561, 0.052),
        confidence=0.561,
        review_recommended=True,
        review_reason="Probability split between Mild and Moderate"
        " — consider specialist review.",
        model_name="KneeGrade KL MobileNetV2",
        model_version="1.0.0",
        model_trained_on="real knee radiographs, Knee Osteoarthritis Severity Grading"
        " Dataset, train split (5,778 images)",
        original_filename="knee_AP_left_2026-11-30.png",
        graded_at=datetime(2026, 11, 30, 9, 41, 17, tzinfo=UTC),
        image_png=_png(xray),
        heatmap_png=_png(Image.fromarray(np.uint8(overlay * 255))),
        heatmap_caption="Grad-CAM heatmap",
    )


def _blob(size: tuple[int, int]) -> np.ndarray:
    """A soft 0-1 spot on the joint space, standing in for a Grad-CAM map."""
    w, h = size
    x, y = np.meshgrid(np.arange(w) / w, np.arange(h) / h)
    return np.exp(-(((x - 0.42) / 0.14) ** 2 + ((y - 0.52) / 0.09) ** 2))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
