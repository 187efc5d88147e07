"""The way of a DICOM result's outputs to the hospital's PACS, in the SPA: against a server whose
PACS cannot be reached, each output (SR, SC, PDF) is shown waiting or retrying, with why."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import knee_dicom
from conftest import LiveServer, serve
from playwright.sync_api import Page, expect
from spa_helpers import new_user, samples, sign_in, upload


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, synthetic: Path
) -> Iterator[LiveServer]:
    """The synthetic demo models, sending to a PACS on a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}/dicom-web"
    data_dir = tmp_path_factory.mktemp("spa-pacs") / "data"
    with serve(
        data_dir,
        [models_dir],
        synthetic / "samples",
        pacs_url=down,
        pacs_poll_seconds=0.2,
        pacs_retry_seconds=60,
    ) as server:
        yield server


def test_a_dicom_result_shows_its_way_to_the_pacs(
    page: Page, api, live_server: LiveServer, tmp_path: Path
) -> None:
    dicom = tmp_path / "knee.dcm"
    dicom.write_bytes(knee_dicom(samples(live_server.samples)[4].read_bytes()))
    user = new_user(api)
    made = upload(api, user, dicom)
    sign_in(page, user, f"result/{made['id']}")
    expect(page.locator("#pacs-deliveries li")).to_have_count(3)
    for kind in ("sr", "sc", "pdf"):
        item = page.locator(f"#pacs-deliveries li[data-kind='{kind}']")
        expect(item).to_have_attribute(
            "data-status", re.compile("^(pending|retrying)$")
        )
    expect(page.locator("#pacs-deliveries")).to_contain_text("Structured report (SR)")


def test_a_png_result_shows_no_pacs(page: Page, api, live_server: LiveServer) -> None:
    user = new_user(api)
    made = upload(api, user, samples(live_server.samples)[4])
    sign_in(page, user, f"result/{made['id']}")
    expect(page.locator("#confidence")).to_be_visible()
    expect(page.locator("#pacs-deliveries")).to_have_count(0)
