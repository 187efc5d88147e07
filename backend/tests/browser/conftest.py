"""Fixtures for the browser tests: a real server on a free port and Debian's Chromium.

The server is the real app (uvicorn, the SPA from ``frontend/``, the tiny models and samples of
``backend/tests/conftest.py``) in a thread of this process; Chromium runs headless through
Playwright. ``live_server`` serves the three synthetic demo models; ``labelled_server`` adds a
model trained on "real radiographs" as the default, for the tests of the models' labels. Set ``KNEEGRADE_SCREENSHOTS=docs/images`` to refresh the README's pictures.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from api_helpers import UNTHROTTLED

from kneegrade_api.config import Settings
from kneegrade_api.main import create_app

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)

REPO = Path(__file__).resolve().parents[3]
FRONTEND = REPO / "frontend"
CHROMIUM = Path(os.environ.get("KNEEGRADE_CHROMIUM", "/usr/bin/chromium"))
"""Debian's Chromium, or the Chrome or Chromium that ``KNEEGRADE_CHROMIUM`` names (read once at
import: the API tests' autouse fixture clears KNEEGRADE_* variables)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1280, "height": 860}
TOKEN_KEY = "kneegrade.token"

RELEASED = {
    "name": "KneeGrade KL Random Forest",
    "version": "1.0.0",
    "changelog": {"1.0.0": "First release."},
    "intended_use": "Decision support for KL grading of one knee; a clinician decides.",
    "limitations": ["Trained on one data set; other scanners are untested."],
    "data_use": {
        "train": "fitted the weights (20 images)",
        "val": "chose the recipe, fitted the calibration temperature and gave the metrics",
        "test": "not used: kept back for an independent check of this model",
    },
}
"""What ``kneegrade release`` adds to a card (it releases networks only; the tests use a forest)."""

# Read once at import: the API tests' autouse fixture clears KNEEGRADE_* variables during tests.
PUBLISH_DIR = os.environ.get("KNEEGRADE_SCREENSHOTS")


@dataclass(frozen=True)
class LiveServer:
    url: str
    samples: Path


@contextmanager
def serve(
    data_dir: Path,
    models_dir: list[Path],
    samples: Path,
    localiser_dir: Path | None = None,
    **overrides: object,
) -> Iterator[LiveServer]:
    """The whole app served by uvicorn on a free 127.0.0.1 port, with data in ``data_dir``;
    without ``localiser_dir`` every image is graded whole, as one knee. ``overrides`` are
    further settings."""
    settings = Settings(
        data_dir=data_dir,
        database_url=None,
        models_dir=models_dir,
        localiser_dir=localiser_dir,
        samples_dir=samples,
        frontend_dir=FRONTEND,
        secret_key=None,
        access_token_minutes=60,
        max_upload_bytes=20 * 1024 * 1024,
        max_image_pixels=50_000_000,
        cors_origins=[],
        **UNTHROTTLED,
        **overrides,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the KneeGrade server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", samples)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, synthetic: Path
) -> Iterator[LiveServer]:
    """The app with the three synthetic demo models (``mobilenetv2`` the default)."""
    data_dir = tmp_path_factory.mktemp("spa") / "data"
    with serve(data_dir, [models_dir], synthetic / "samples") as server:
        yield server


@pytest.fixture(scope="session")
def real_models_dir(synthetic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``rf-chen2018``: a Random Forest trained on a folder whose SOURCE.md cites the real
    radiograph data set (so its card records real radiographs), with the name, version,
    intended use and limitations a release writes into its card."""
    from kneegrade_ml.training.loop import TrainOptions
    from kneegrade_ml.training.train import train_model

    data = tmp_path_factory.mktemp("real") / "knee"
    shutil.copytree(synthetic / "train", data / "train")
    shutil.copytree(synthetic / "test", data / "val")
    (data / "SOURCE.md").write_text("# Knee KL\n\ndoi:10.17632/56rmx5bjcr.1\n")
    root = tmp_path_factory.mktemp("released")
    model = root / "rf-chen2018"
    train_model("rf", data, model, TrainOptions(n_estimators=10), progress=False)
    card = json.loads((model / "model.json").read_text())
    card.update(RELEASED)
    (model / "model.json").write_text(json.dumps(card, indent=2))
    return root


@pytest.fixture(scope="session")
def labelled_server(
    tmp_path_factory: pytest.TempPathFactory,
    real_models_dir: Path,
    models_dir: Path,
    synthetic: Path,
) -> Iterator[LiveServer]:
    """The app with the real-radiograph ``rf-chen2018`` (the default) and the synthetic demos
    side by side. A test module uses it by overriding ``live_server`` with it."""
    data_dir = tmp_path_factory.mktemp("spa-labelled") / "data"
    models = [real_models_dir, models_dir]
    with serve(data_dir, models, synthetic / "samples") as server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (``-m "not browser"`` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright() -> Iterator[playwright_api.Playwright]:
    with playwright_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: playwright_api.Playwright) -> Iterator[playwright_api.Browser]:
    if not CHROMIUM.exists():
        reason = (
            f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)"
            " or set KNEEGRADE_CHROMIUM; .ci/run does"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)  # in CI a skipped browser suite would pass unseen
        pytest.skip(reason)
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def page(
    browser: playwright_api.Browser, live_server: LiveServer
) -> Iterator[playwright_api.Page]:
    """A fresh tab at laptop size; it must ask nothing of any other host, nor throw.

    The tab bypasses the app's content security policy, which forbids evaluating strings:
    Playwright's ``wait_for_function`` does. ``test_csp.py`` drives the app under the policy.
    """
    context = browser.new_context(
        base_url=live_server.url,
        viewport=LAPTOP,
        reduced_motion="reduce",
        bypass_csp=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    foreign: list[str] = []
    crashes: list[str] = []
    page.on(
        "request",
        lambda request: (
            request.url.startswith((live_server.url, "blob:", "data:"))
            or foreign.append(request.url)
        ),
    )
    page.on("pageerror", lambda error: crashes.append(str(error)))
    yield page
    context.close()
    assert not foreign, f"the page asked other hosts: {foreign}"
    assert not crashes, f"uncaught errors in the page: {crashes}"


@pytest.fixture
def api(
    playwright: playwright_api.Playwright, live_server: LiveServer
) -> Iterator[playwright_api.APIRequestContext]:
    """An HTTP client on the live server, to set up users and scans without the UI."""
    context = playwright.request.new_context(base_url=live_server.url)
    yield context
    context.dispose()


@pytest.fixture(scope="session")
def screenshot(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Callable[..., Path]:
    """``screenshot(page, name, publish=None)``: saved under the pytest tmp folder; with
    ``KNEEGRADE_SCREENSHOTS`` set, ``publish`` names a copy kept there for the README."""
    folder = tmp_path_factory.mktemp("screenshots")
    publish_dir = Path(PUBLISH_DIR) if PUBLISH_DIR else None
    if publish_dir and not publish_dir.is_absolute():
        publish_dir = pytestconfig.rootpath / publish_dir

    def take(
        page: playwright_api.Page, name: str, publish: str | None = None, **options
    ) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=path, animations="disabled", **options)
        if publish and publish_dir:
            publish_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, publish_dir / publish)
        return path

    return take
