"""Honest labels in the SPA: every grade names its model, version and training data, and a grade
from a synthetic demo model is marked as one wherever it is shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from spa_helpers import new_user, samples, sign_in, upload, wait_for_result_image

from kneegrade_ml.modelcard import DEMO_NOTE

REAL = "rf-chen2018"
REAL_OPTION = "KneeGrade KL Random Forest · v1.0.0 · real radiographs"
DEMO = "rf"


@pytest.fixture(scope="module")
def live_server(labelled_server):
    """The tests here run against the real-radiograph model (the default) and the demos."""
    return labelled_server


def test_the_real_model_grades_with_its_name_version_and_data(
    page: Page, api, live_server, screenshot
) -> None:
    sign_in(page, new_user(api), "upload")
    picker = page.get_by_label("Model")
    expect(picker).to_have_value(REAL)
    expect(picker.locator("option:checked")).to_have_text(REAL_OPTION)
    info = page.locator("#model-info")
    expect(info).to_contain_text("Trained on: real knee radiographs")
    expect(info).to_contain_text("measured on val split of real knee radiographs")
    expect(info).to_contain_text("Intended use: Decision support")
    expect(info).not_to_contain_text("held-out accuracy")
    expect(page.get_by_test_id("model-warning")).to_have_count(0)
    limitation = info.get_by_text("other scanners are untested")
    expect(limitation).to_be_hidden()
    info.get_by_text("Limitations (1)").click()
    expect(limitation).to_be_visible()
    held_back = info.get_by_text("test split: not used: kept back")
    expect(held_back).to_be_hidden()
    info.get_by_text("Which images did what (3)").click()
    expect(held_back).to_be_visible()
    page.locator("#file-input").set_input_files(samples(live_server.samples)[4])
    screenshot(page, "upload-real-model")

    page.get_by_role("button", name="Grade X-ray").click()
    expect(page.get_by_test_id("model-provenance")).to_have_text(
        re.compile(
            r"^Graded by KneeGrade KL Random Forest v1\.0\.0"
            r"Trained on: real knee radiographs, .*train split \(\d+ images\)$"
        )
    )
    expect(page.locator("#result .kl-badge")).to_be_visible()
    expect(page.get_by_test_id("model-warning")).to_have_count(0)
    # the heatmap caption goes by the model's kind, not its id
    expect(page.locator("#heatmap-caption")).to_contain_text("Random Forest")


def test_a_synthetic_demo_is_marked_in_picker_result_and_history(
    page: Page, api, live_server, screenshot
) -> None:
    user = new_user(api)
    sign_in(page, user, "upload")
    picker = page.get_by_label("Model")
    expect(picker).to_have_value(REAL)
    picker.select_option(DEMO)
    expect(picker.locator("option:checked")).to_contain_text(
        "synthetic demo (not for real X-rays)"
    )
    warning = page.get_by_test_id("model-warning")
    expect(warning).to_have_text(DEMO_NOTE)
    info = page.locator("#model-info")
    expect(info).to_contain_text("Trained on: synthetic knee images")
    expect(info).to_contain_text("it says nothing about real X-rays")
    picker.select_option(REAL)
    expect(warning).to_have_count(0)
    picker.select_option(DEMO)

    page.locator("#file-input").set_input_files(samples(live_server.samples)[7])
    page.get_by_role("button", name="Grade X-ray").click()
    expect(page.locator("#result .kl-badge")).to_be_visible()
    expect(warning).to_have_text(DEMO_NOTE)
    expect(warning).to_have_class(re.compile(r"\balert-danger\b"))
    provenance = page.get_by_test_id("model-provenance")
    expect(provenance).to_contain_text("Graded by Random Forest v")
    expect(provenance).to_contain_text("Trained on: synthetic knee images")
    wait_for_result_image(page)
    screenshot(page, "result-demo-model")

    real = upload(api, user, samples(live_server.samples)[2], REAL)
    page.goto("/#/history")
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-id", str(real["id"]))
    expect(rows.first.get_by_test_id("demo-flag")).to_have_count(0)
    expect(rows.first).to_contain_text("KneeGrade KL Random Forest")
    expect(rows.first).to_contain_text("v1.0.0")
    flag = rows.nth(1).get_by_test_id("demo-flag")
    expect(flag).to_contain_text("Demo")
    expect(flag).to_have_attribute("title", DEMO_NOTE)
    rows.nth(1).get_by_role("button", name=re.compile("^Preview scan of")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("model-warning")).to_have_text(DEMO_NOTE)
    expect(dialog.get_by_test_id("model-provenance")).to_contain_text(
        "synthetic knee images"
    )


def test_analytics_labels_each_models_figures_with_their_data(page: Page, api) -> None:
    sign_in(page, new_user(api), "analytics")
    page.wait_for_function("Chart.getChart('chart-models')")
    labels = page.evaluate("Chart.getChart('chart-models').data.labels")
    assert labels[0] == "KneeGrade KL Random Forest"
    assert sorted(labels[1:]) == [
        "Custom CNN (synthetic demo)",
        "MobileNetV2 (synthetic demo)",
        "Random Forest (synthetic demo)",
    ]
    real = page.locator(f"#metrics-table tr[data-model='{REAL}']")
    expect(real).to_contain_text("measured on val split of real knee radiographs")
    expect(real.get_by_test_id("demo-flag")).to_have_count(0)
    demo = page.locator(f"#metrics-table tr[data-model='{DEMO}']")
    expect(demo).to_contain_text("measured on test split of synthetic knee images")
    expect(demo.get_by_test_id("demo-flag")).to_contain_text("Demo")
    expect(page.locator("#metrics-demo-note")).to_contain_text(
        "say nothing about how they would grade real X-rays"
    )


def test_samples_say_they_are_synthetic(page: Page, api) -> None:
    sign_in(page, new_user(api), "samples")
    note = page.locator("#samples-note")
    expect(note).to_contain_text("not radiographs of patients")
    expect(note).to_contain_text("means nothing clinically")
    expect(page.locator(".sample-card")).to_have_count(10)
