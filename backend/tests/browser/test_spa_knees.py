"""Every knee of an upload in the SPA, against a server that localises knees: a bilateral view's
two knees framed over the X-ray with their sides and grades, switching between them, their sides
in the history; a plain crop shown without a frame; an image without a knee refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from api_helpers import PATIENT, knee_dicom
from conftest import REPO, LiveServer, serve
from PIL import Image
from playwright.sync_api import Page, expect
from spa_helpers import (
    User,
    new_user,
    samples,
    shown_rect,
    sign_in,
    upload,
    wait_for_result_image,
)

LOCALISER = REPO / "localiser"
LAYOUT_TIP = "Side from the bilateral view's layout"


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, synthetic: Path
) -> Iterator[LiveServer]:
    """The synthetic demo models with the shipped knee localiser."""
    assert (LOCALISER / "model.pt").is_file(), f"no trained localiser in {LOCALISER}"
    data_dir = tmp_path_factory.mktemp("spa-knees") / "data"
    with serve(data_dir, [models_dir], synthetic / "samples", LOCALISER) as server:
        yield server


def bilateral(live_server: LiveServer, folder: Path) -> Path:
    """Two synthetic knee crops side by side, 60 dark pixels apart: a sample and the mirror of
    another, as a standing view shows the patient's right and left knees."""
    pictures = samples(live_server.samples)
    with Image.open(pictures[2]) as right, Image.open(pictures[7]) as left:
        right_knee = np.asarray(right.convert("L"))
        left_knee = np.asarray(left.convert("L"))[:, ::-1]
    gap = np.full((right_knee.shape[0], 60), 8, np.uint8)
    path = folder / "bilateral.png"
    Image.fromarray(np.hstack([right_knee, gap, left_knee])).save(path)
    return path


def knees_of(api, user: User, prediction_id: str) -> list[dict]:
    response = api.get(f"/api/predictions/{prediction_id}", headers=user.headers)
    assert response.ok, response.text()
    return response.json()["knees"]


def label(knee: dict) -> str:
    letter = {"right": "R", "left": "L"}[knee["side"]]
    return f"{letter} · KL {knee['grade']} {knee['name']}"


def expect_boxes_on_their_knees(page: Page, knees: list[dict]) -> None:
    """Each frame is drawn where its box lies on the X-ray as it is painted."""
    wait_for_result_image(page)
    shown = shown_rect(page, "#result-image")
    natural = page.eval_on_selector("#result-image", "img => img.naturalWidth")
    scale = shown["width"] / natural
    for knee, frame in zip(
        knees, page.locator("#knee-overlay .knee-box").all(), strict=True
    ):
        drawn = frame.bounding_box()
        assert drawn is not None
        box = knee["box"]
        expected = {
            "x": shown["x"] + box["x"] * scale,
            "y": shown["y"] + box["y"] * scale,
            "width": box["width"] * scale,
            "height": box["height"] * scale,
        }
        for key, value in expected.items():
            assert abs(drawn[key] - value) < 1.5, (
                f"{key}: drawn {drawn}, box {expected}"
            )


def test_both_knees_of_a_bilateral_view_are_framed_graded_and_chosen(
    page: Page, api, live_server, screenshot, tmp_path: Path
) -> None:
    user = new_user(api)
    sign_in(page, user, "upload")
    expect(page.locator("#drop-hint")).to_contain_text("one knee or both")
    page.get_by_label("Model").select_option("rf")
    page.locator("#file-input").set_input_files(bilateral(live_server, tmp_path))
    page.get_by_role("button", name="Grade X-ray").click()

    result = page.locator("#result")
    expect(result).to_be_visible()
    knees = knees_of(api, user, result.get_attribute("data-id"))
    assert [k["side"] for k in knees] == ["right", "left"]
    right, left = knees
    expect(result).to_have_attribute("data-id", str(right["id"]))

    boxes = page.locator("#knee-overlay .knee-box")
    expect(boxes).to_have_count(2)
    expect(page.locator("#knee-overlay")).to_be_visible()
    expect(boxes).to_have_text([label(right), label(left)])
    expect(boxes.first).to_have_attribute("aria-current", "true")
    expect_boxes_on_their_knees(page, knees)

    cards = page.locator("#knee-picker .knee-card")
    expect(cards).to_have_count(2)
    for card, knee, side in zip(cards.all(), knees, ("Right knee", "Left knee")):
        expect(card).to_contain_text(side)
        expect(card.locator(".kl-badge")).to_have_attribute(
            "data-grade", str(knee["grade"])
        )
    expect(page.locator("#knee-side")).to_have_text("Right knee")
    expect(page.locator("#knee-side .knee-side")).to_have_attribute(
        "title", re.compile(f"^{re.escape(LAYOUT_TIP)}")
    )
    screenshot(page, "result-bilateral", publish="ui-result-bilateral.png")

    boxes.nth(1).click()
    expect(result).to_have_attribute("data-id", str(left["id"]))
    expect(page.locator("#knee-side")).to_have_text("Left knee")
    expect(page.locator("#probabilities .prob-row.is-top")).to_have_attribute(
        "data-grade", str(left["grade"])
    )
    expect(cards.nth(1)).to_have_attribute("aria-current", "true")
    expect(boxes.nth(1)).to_have_attribute("aria-current", "true")
    expect_boxes_on_their_knees(page, knees)

    # the frames follow the picture when the layout changes
    page.set_viewport_size({"width": 768, "height": 900})
    expect_boxes_on_their_knees(page, knees)

    cards.first.click()
    expect(result).to_have_attribute("data-id", str(right["id"]))
    expect(page.locator("#knee-side")).to_have_text("Right knee")

    page.goto("/#/history")
    for knee, text in (
        (right, "Right knee · 1 of 2 knees"),
        (left, "Left knee · 2 of 2 knees"),
    ):
        row = page.locator(f"#history-table tr[data-id='{knee['id']}']")
        expect(row.locator(".knee-note")).to_have_text(text)


def test_a_single_knee_crop_is_shown_without_a_frame(
    page: Page, api, live_server
) -> None:
    user = new_user(api)
    made = upload(api, user, samples(live_server.samples)[4])
    assert len(made["knees"]) == 1
    sign_in(page, user, f"result/{made['id']}")
    wait_for_result_image(page)
    expect(page.locator("#knee-overlay")).to_be_hidden()
    expect(page.locator("#knee-picker")).to_have_count(0)
    expect(page.locator("#knee-side")).to_have_text(
        re.compile(r"^(Right knee|Left knee|Knee \(side unknown\))$")
    )
    expect(page.locator("#dicom-study")).to_have_count(0)


def test_a_dicom_result_shows_its_study_and_no_patient(
    page: Page, api, live_server, tmp_path: Path
) -> None:
    png = samples(live_server.samples)[4].read_bytes()
    dicom = tmp_path / "knee.dcm"
    dicom.write_bytes(
        knee_dicom(
            png,
            StudyInstanceUID="1.2.826.0.1.3680043.8.498.42",
            AccessionNumber="ACC0042",
            ImageLaterality="L",
            BodyPartExamined="KNEE",
            ViewPosition="AP",
            PixelSpacing=[0.15, 0.15],
        )
    )
    user = new_user(api)
    made = upload(api, user, dicom)
    sign_in(page, user, f"result/{made['id']}")
    expect(page.locator("#knee-side")).to_have_text("Left knee")
    study = page.locator("#dicom-study")
    expect(study.locator("[data-field='study-uid'] dd")).to_have_text(
        "1.2.826.0.1.3680043.8.498.42"
    )
    expect(study.locator("[data-field='accession'] dd")).to_have_text("ACC0042")
    expect(study.locator("[data-field='laterality'] dd")).to_have_text("Left")
    expect(study.locator("[data-field='view'] dd")).to_have_text("AP")
    expect(study.locator("[data-field='pixel-spacing'] dd")).to_have_text(
        "0.15 × 0.15 mm (PixelSpacing)"
    )
    for value in PATIENT.values():
        expect(page.locator("body")).not_to_contain_text(value)


def test_an_image_without_a_knee_is_refused_with_the_reason(
    page: Page, api, tmp_path: Path
) -> None:
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((300, 400), np.uint8)).save(blank)
    sign_in(page, new_user(api), "upload")
    page.get_by_label("Model").select_option("rf")
    page.locator("#file-input").set_input_files(blank)
    grade = page.get_by_role("button", name="Grade X-ray")
    grade.click()
    expect(page.get_by_role("alert")).to_contain_text(
        "no knee joint was found in the image"
    )
    expect(grade).to_be_enabled()
    expect(page).to_have_url(re.compile(r"#/upload$"))
