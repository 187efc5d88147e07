"""The PDF report: one A4 page that says everything the result page says, whatever the input."""

import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from example_report import example_content
from PIL import Image
from pypdf import PageObject, PdfReader
from reportlab.lib.pagesizes import A4

from kneegrade_api.report import (
    IMAGE_BOX,
    MAX_IMAGE_PIXELS,
    NOTICE,
    ReportContent,
    render_report,
)
from kneegrade_ml.grades import GRADE_NAMES

REASON = "Probability split between Mild and Moderate — consider specialist review."


def _png(size: tuple[int, int], mode: str = "L") -> bytes:
    """A gradient, so no two test pictures are the same bytes (ReportLab shares equal images)."""
    ramp = Image.linear_gradient("L").resize(size)
    out = io.BytesIO()
    (ramp if mode == "L" else Image.merge("RGB", (ramp, ramp.rotate(90), ramp))).save(
        out, format="PNG"
    )
    return out.getvalue()


@pytest.fixture
def content() -> ReportContent:
    return ReportContent(
        prediction_id=77,
        grade=3,
        probabilities=(0.01, 0.04, 0.32, 0.58, 0.05),
        confidence=0.58,
        review_recommended=True,
        review_reason=REASON,
        model_name="MobileNetV2",
        model_version="2026-11-27T02:09:36+00:00",
        original_filename="left_knee_AP.png",
        graded_at=datetime(2026, 11, 30, 9, 41, 17, tzinfo=UTC),
        image_png=_png((64, 48)),
        heatmap_png=_png((64, 48), "RGB"),
        heatmap_caption="Grad-CAM heatmap",
    )


def _page(content: ReportContent) -> PageObject:
    """Render, check it is a one-page PDF, and return that page."""
    data = render_report(content)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0]


def _text(content: ReportContent) -> str:
    return _page(content).extract_text()


def test_one_a4_page_with_metadata(content: ReportContent) -> None:
    reader = PdfReader(io.BytesIO(render_report(content)))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4)
    assert reader.metadata is not None
    assert reader.metadata.title == "KneeGrade report: scan #77"
    assert reader.metadata.author == "KneeGrade"


def test_shows_grade_probabilities_model_time_file_and_notice(
    content: ReportContent,
) -> None:
    text = _text(content)
    assert "KneeGrade: knee osteoarthritis grading report" in text
    assert "KL 3 · Moderate" in text
    assert "Confidence" in text and "58.0 %" in text
    for grade, name in enumerate(GRADE_NAMES):
        assert f"{grade} · {name}" in text
    for percent in ("1.0 %", "4.0 %", "32.0 %", "58.0 %", "5.0 %"):
        assert percent in text
    assert "MobileNetV2, version 2026-11-27T02:09:36+00:00" in text
    assert "2026-11-30 09:41:17 UTC" in text
    assert "left_knee_AP.png" in text
    assert "#77" in text
    assert NOTICE in text


def test_review_reason_only_when_flagged(content: ReportContent) -> None:
    flagged = _text(content)
    assert "Review recommended" in flagged and REASON in flagged
    assert "No review flag" not in flagged
    calm = _text(replace(content, review_recommended=False, review_reason=None))
    assert "Review recommended" not in calm and REASON not in calm
    assert "No review flag was raised" in calm


def test_flag_without_a_reason_still_shows_the_box(content: ReportContent) -> None:
    assert "Review recommended" in _text(replace(content, review_reason=None))


def test_heatmap_beside_the_xray_or_a_placeholder(content: ReportContent) -> None:
    with_heatmap = _page(content)
    assert len(with_heatmap.images) == 2
    assert "Grad-CAM heatmap" in with_heatmap.extract_text()
    without = _page(replace(content, heatmap_png=None))
    assert len(without.images) == 1
    assert "Grad-CAM heatmap" not in without.extract_text()
    assert "No heatmap for this scan" in without.extract_text()


def test_big_picture_is_shrunk_to_fit_keeping_its_aspect(
    content: ReportContent,
) -> None:
    page = _page(replace(content, image_png=_png((3000, 1000)), heatmap_png=None))
    assert page.images[0].image.size == (MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS // 3)
    stream = page.get_contents().get_data().decode("latin-1")
    placed = re.search(r"([\d.]+) 0 0 ([\d.]+) [\d.]+ [\d.]+ cm\s+/\S+ Do", stream)
    assert placed is not None
    width, height = float(placed[1]), float(placed[2])
    assert width == pytest.approx(IMAGE_BOX) and width / height == pytest.approx(3)


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "1"])
def test_other_png_modes_are_accepted(content: ReportContent, mode: str) -> None:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((40, 30)).convert(mode).save(out, format="PNG")
    assert len(_page(replace(content, image_png=out.getvalue())).images) == 2


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("genou_gauche_été.png", "genou_gauche_été.png"),
        ("Łódź 膝 ﬁle.png", "?ódz ? file.png"),
        ("scan\u202e\x00gnp.exe", "scangnp.exe"),
        ("x-ray 🦵.png", "x-ray ?.png"),
    ],
)
def test_non_ascii_file_names_are_folded_not_fatal(
    content: ReportContent, filename: str, shown: str
) -> None:
    assert shown in _text(replace(content, original_filename=filename))


def test_very_long_texts_are_wrapped_and_cut_short(content: ReportContent) -> None:
    long = replace(
        content,
        original_filename="é" * 40 + "knee" * 200 + ".png",
        model_version="v" * 150,
        review_reason="split between grades " * 60,
        heatmap_caption="caption " * 40,
    )
    text = _text(long)
    assert "é" * 40 + "knee" in text and "…" in text
    assert ".png" not in text  # cut: the end of a 900-character name does not fit
    assert NOTICE in text


def test_graded_time_is_printed_in_utc(content: ReportContent) -> None:
    paris = timezone(timedelta(hours=1))
    graded = datetime(2026, 11, 30, 10, 41, 17, tzinfo=paris)
    assert "2026-11-30 09:41:17 UTC" in _text(replace(content, graded_at=graded))


@pytest.mark.parametrize(
    "change",
    [
        {"graded_at": datetime(2026, 11, 30, 9, 41)},
        {"probabilities": (0.5, 0.5)},
        {"grade": 5},
    ],
)
def test_inconsistent_content_is_refused(
    content: ReportContent, change: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        replace(content, **change)


def test_example_report_renders() -> None:
    page = _page(example_content())
    assert len(page.images) == 2
    assert "KL 3 · Moderate" in page.extract_text()
