"""The default install, as ``make run`` serves it: the released real-radiograph model from
``models/`` behind the knee localiser from ``localiser/``, named with its version and data on
every grade."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import REPO, LiveServer, serve
from playwright.sync_api import Page, expect
from spa_helpers import new_user, samples, sign_in

RELEASED = REPO / "models"
LOCALISER = REPO / "localiser"


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, synthetic
) -> Iterator[LiveServer]:
    """The app with the models and localiser folders ``make run`` serves, and nothing else."""
    data_dir = tmp_path_factory.mktemp("spa-default") / "data"
    with serve(data_dir, [RELEASED], synthetic / "samples", LOCALISER) as server:
        yield server


def test_an_upload_is_graded_by_the_released_model_named_with_version_and_data(
    page: Page, api, live_server
) -> None:
    card = json.loads(
        (RELEASED / "efficientnet-lite2-chen2018" / "model.json").read_text()
    )
    sign_in(page, new_user(api), "upload")
    expect(page.get_by_label("Model")).to_have_value("efficientnet-lite2-chen2018")
    page.locator("#file-input").set_input_files(samples(live_server.samples)[4])
    page.get_by_role("button", name="Grade X-ray").click()
    provenance = page.get_by_test_id("model-provenance")
    expect(provenance).to_contain_text(f"Graded by {card['name']} v{card['version']}")
    expect(provenance).to_contain_text(
        "Trained on: real knee radiographs, Knee Osteoarthritis Severity Grading Dataset,"
        " train split (5,778 images)"
    )
    expect(page.locator("#result .kl-badge")).to_be_visible()
    expect(page.get_by_test_id("model-warning")).to_have_count(0)
