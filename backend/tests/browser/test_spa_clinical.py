"""The SPA's clinical aids in Chromium against the real server: the heatmap over the X-ray, the
server's review flag, the PDF report and DICOM uploads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from api_helpers import knee_dicom
from PIL import Image
from playwright.sync_api import Locator, Page, Route, expect
from spa_helpers import (
    User,
    new_user,
    samples,
    shown_rect,
    sign_in,
    upload,
    wait_for_result_image,
)

GRADE = re.compile(r"^KL [0-4] · (Normal|Doubtful|Mild|Moderate|Severe)$")
GRAD_CAM = "Grad-CAM: where the model looked"
RF_CAPTION = "Pixel importance of the Random Forest (the same for every image)"

pydicom = pytest.importorskip("pydicom", reason="pydicom is not installed")


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not laid out"
    return found


def expect_layer_on_the_xray(page: Page, image_id: str) -> None:
    """The colour layer is loaded, at the X-ray's size, and painted exactly over it."""
    page.wait_for_function(
        "id => [document.getElementById(id), document.getElementById('heatmap-layer')]"
        ".every(img => img && img.complete && img.naturalWidth > 0)",
        arg=image_id,
    )
    sizes = page.evaluate(
        "id => [document.getElementById(id), document.getElementById('heatmap-layer')]"
        ".map(img => [img.naturalWidth, img.naturalHeight])",
        image_id,
    )
    assert sizes[0] == sizes[1], (
        f"layer {sizes[1]} is not at the X-ray's size {sizes[0]}"
    )
    xray, layer = shown_rect(page, f"#{image_id}"), shown_rect(page, "#heatmap-layer")
    for key in ("x", "y", "width", "height"):
        assert abs(xray[key] - layer[key]) < 0.6, f"{key}: X-ray {xray}, layer {layer}"
    assert xray["width"] > 100 and xray["height"] > 100


def opacity(page: Page) -> float:
    return float(
        page.eval_on_selector("#heatmap-layer", "img => getComputedStyle(img).opacity")
    )


def non_square(image: Path, folder: Path, size: tuple[int, int]) -> Path:
    """The sample stretched to ``size``, to check alignment off the square."""
    path = folder / f"{image.stem}-{size[0]}x{size[1]}.png"
    with Image.open(image) as picture:
        picture.resize(size, Image.Resampling.BILINEAR).save(path)
    return path


def flagged(api, user: User, live_server) -> dict:
    """A real prediction the server recommends for review: the tiny one-epoch models are unsure,
    so one of the first samples is flagged."""
    for model in ("cnn", "rf"):
        for image in samples(live_server.samples)[::3]:
            made = upload(api, user, image, model)
            if made["review_recommended"]:
                return made
    pytest.fail("no sample was flagged for review by the tiny test models")


def dicom_from(image: Path, folder: Path) -> Path:
    """The sample as a 12-bit MONOCHROME2 DX file with a made-up patient."""
    path = folder / f"{image.stem}.dcm"
    path.write_bytes(knee_dicom(image.read_bytes()))
    return path


def test_graded_xray_shows_the_heatmap_with_switch_and_opacity(
    page: Page, api, live_server, screenshot, tmp_path: Path
) -> None:
    sign_in(page, new_user(api), "upload")
    page.get_by_label("Model").select_option("cnn")
    tall = non_square(samples(live_server.samples)[5], tmp_path, (224, 320))
    page.locator("#file-input").set_input_files(tall)
    page.get_by_role("button", name="Grade X-ray").click()
    expect(page.locator("#result .kl-badge")).to_have_text(GRADE)

    layer = page.locator("#heatmap-layer")
    expect(layer).to_be_visible()
    expect_layer_on_the_xray(page, "result-image")
    expect(page.locator("#heatmap-caption")).to_have_text(GRAD_CAM)
    screenshot(page, "result-heatmap", publish="ui-result-heatmap.png")

    switch = page.get_by_role("switch", name="Heatmap")
    slider = page.get_by_role("slider", name="Opacity")
    expect(switch).to_be_checked()
    expect(slider).to_have_value("50")
    assert opacity(page) == pytest.approx(0.5)

    slider.fill("80")
    assert opacity(page) == pytest.approx(0.8)
    expect(page.locator("output[for=heatmap-opacity]")).to_have_text("80 %")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("75")
    assert opacity(page) == pytest.approx(0.75)

    switch.focus()
    page.keyboard.press("Space")
    expect(switch).not_to_be_checked()
    expect(layer).to_be_hidden()
    expect(slider).to_be_disabled()
    switch.click()
    expect(layer).to_be_visible()
    expect(slider).to_be_enabled()

    # stays on the X-ray when the layout changes, at a tablet's width and a wide one
    for width in (768, 1600):
        page.set_viewport_size({"width": width, "height": 900})
        expect_layer_on_the_xray(page, "result-image")


def test_without_a_heatmap_the_xray_is_shown_alone(
    page: Page, api, live_server
) -> None:
    user = new_user(api)
    made = upload(api, user, samples(live_server.samples)[1])

    def no_heatmap(route: Route) -> None:
        body = route.fetch().json()
        route.fulfill(json={**body, "heatmap_url": None})

    page.route(f"**/api/predictions/{made['id']}", no_heatmap)
    sign_in(page, user, f"result/{made['id']}")
    expect(page.locator("#heatmap-note")).to_contain_text("No heatmap for this scan")
    wait_for_result_image(page)
    expect(page.locator("#heatmap-layer")).to_have_count(0)
    expect(page.locator("#heatmap-toggle")).to_have_count(0)


def test_review_note_shows_the_servers_reason(page: Page, api, live_server) -> None:
    user = new_user(api)
    made = flagged(api, user, live_server)
    sign_in(page, user, f"result/{made['id']}")
    expect(page.locator("#review-note")).to_have_text(made["review_reason"])
    expect(page.locator("#review-note")).to_have_attribute("role", "note")

    page.goto("/#/history")
    flag = page.locator(f"#history-table tr[data-id='{made['id']}'] .review-flag")
    expect(flag).to_have_attribute("title", made["review_reason"])
    expect(flag).to_contain_text(f"Review recommended: {made['review_reason']}")

    # the SPA decides nothing itself: an unflagged prediction shows no note and no flag
    def unflagged(route: Route) -> None:
        body = route.fetch().json()
        items = body.get("items", [body])
        for item in items:
            item.update(review_recommended=False, review_reason=None)
        route.fulfill(json=body)

    page.route(re.compile(r".*/api/predictions(\?.*|/\d+)$"), unflagged)
    page.goto(f"/#/result/{made['id']}")
    expect(page.locator("#result .kl-badge")).to_have_text(GRADE)
    expect(page.locator("#review-note")).to_have_count(0)
    page.goto("/#/history")
    expect(page.locator("#history-table tbody tr")).to_have_count(1)
    expect(page.locator(".review-flag")).to_have_count(0)


def test_history_preview_shows_the_heatmap(
    page: Page, api, live_server, screenshot
) -> None:
    user = new_user(api)
    made = upload(api, user, samples(live_server.samples)[7], "rf")
    sign_in(page, user, "history")
    row = page.locator(f"#history-table tr[data-id='{made['id']}']")
    opener = row.get_by_role("button", name=re.compile("^Preview scan of"))
    opener.click()

    dialog = page.get_by_role("dialog", name=re.compile(f"Scan #{made['id']}"))
    expect(dialog).to_be_visible()
    expect(dialog.locator("#heatmap-layer")).to_be_visible()
    expect_layer_on_the_xray(page, "preview-image")
    expect(dialog.locator("#heatmap-caption")).to_have_text(RF_CAPTION)
    expect(dialog.get_by_role("switch", name="Heatmap")).to_be_checked()
    expect(dialog.get_by_role("slider", name="Opacity")).to_have_value("50")
    if made["review_recommended"]:
        expect(dialog.locator("#preview-review-note")).to_have_text(
            made["review_reason"]
        )
    screenshot(page, "history-preview", publish="ui-history-preview.png")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    expect(page.locator("#heatmap-layer")).to_have_count(0)

    opener.click()
    dialog.get_by_role("link", name="Open full result").click()
    expect(page.locator("#result")).to_have_attribute("data-id", str(made["id"]))
    expect(page.locator("#heatmap-layer")).to_have_count(1)
    expect(page.locator(".modal-backdrop")).to_have_count(0)


def test_report_downloads_as_a_pdf(
    page: Page, api, live_server, tmp_path: Path
) -> None:
    user = new_user(api)
    made = upload(api, user, samples(live_server.samples)[4])
    sign_in(page, user, f"result/{made['id']}")
    button = page.get_by_role("button", name="Download report (PDF)")
    expect(button).to_have_id("report-download")
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == f"kneegrade-report-{made['id']}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    expect(button).to_be_enabled()

    page.route(
        "**/report",
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body=json.dumps({"detail": "the report could not be made"}),
        ),
    )
    button.click()
    expect(page.get_by_role("alert")).to_contain_text("the report could not be made")
    expect(button).to_be_enabled()


def test_a_dicom_upload_is_graded_with_a_heatmap(
    page: Page, api, live_server, tmp_path: Path
) -> None:
    scan = dicom_from(samples(live_server.samples)[6], tmp_path)
    sign_in(page, new_user(api), "upload")
    expect(page.locator("#drop-hint")).to_contain_text("DICOM")
    assert ".dcm" in page.locator("#file-input").get_attribute("accept")
    page.get_by_label("Model").select_option("rf")
    page.locator("#file-input").set_input_files(scan)
    expect(page.locator("#dicom-placeholder")).to_have_text(
        "DICOM file: preview after grading"
    )
    expect(page.locator("#preview")).to_have_count(0)
    expect(page.locator("#file-info")).to_contain_text(scan.name)
    page.get_by_role("button", name="Grade X-ray").click()

    expect(page.locator("#result .kl-badge")).to_have_text(GRADE)
    expect(page.locator("#result")).to_contain_text(scan.name)
    expect(page.locator("#heatmap-layer")).to_be_visible()
    expect_layer_on_the_xray(page, "result-image")
    expect(page.locator("#heatmap-caption")).to_have_text(RF_CAPTION)
