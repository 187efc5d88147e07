"""The single-page app in Debian's Chromium against the real server: what a clinician does."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from playwright.sync_api import Page, Route, expect
from spa_helpers import (
    TOKEN_KEY,
    chart_values,
    new_user,
    samples,
    sign_in,
    upload,
    wait_for_result_image,
)

GRADE = re.compile(r"^KL [0-4] · (Normal|Doubtful|Mild|Moderate|Severe)$")
CHARTS = ["chart-grades", "chart-confidence", "chart-days", "chart-models"]
MODELS = ["rf", "cnn", "mobilenetv2"]
TABLET_VIEWS = ["home", "upload", "history", "analytics", "samples"]

DROP = """async ({ url, name }) => {
  const bytes = await (await fetch(url)).blob();
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const zone = document.getElementById("drop-zone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
  }
}"""


def nav(page: Page, name: str):
    return page.locator("#navbar").get_by_role("link", name=name, exact=True)


def token(page: Page) -> str | None:
    return page.evaluate("key => sessionStorage.getItem(key)", TOKEN_KEY)


def expect_result(page: Page, model_name: str, file_name: str) -> None:
    """The result view: one KL badge, a confidence, five labelled bars, model and file."""
    result = page.locator("#result")
    expect(result.locator(".kl-badge")).to_have_count(1)
    expect(result.locator(".kl-badge")).to_have_text(GRADE)
    expect(page.locator("#confidence")).to_have_text(re.compile(r"^\d{1,3}\.\d %$"))
    rows = page.locator("#probabilities .prob-row")
    expect(rows).to_have_count(5)
    labels = rows.locator(".prob-label").all_inner_texts()
    assert labels == [
        "0 · Normal",
        "1 · Doubtful",
        "2 · Mild",
        "3 · Moderate",
        "4 · Severe",
    ]
    values = [
        float(v)
        for v in rows.locator("[role=progressbar]").evaluate_all(
            "bars => bars.map(bar => bar.getAttribute('aria-valuenow'))"
        )
    ]
    assert abs(sum(values) - 100) < 0.5
    expect(result).to_contain_text(model_name)
    expect(result).to_contain_text(file_name)
    wait_for_result_image(page)


def test_register_sign_out_and_sign_in(page: Page, screenshot) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#navbar")).to_be_hidden()
    screenshot(page, "sign-in")

    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Full name").fill("Dr Jane Smith")
    page.get_by_label("Username").fill("jsmith")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "password: String should have at least 8 characters"
    )
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "register-invalid")

    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#user-name")).to_have_text("Dr Jane Smith")
    expect(page.locator("#messages")).to_contain_text("your account is ready")
    expect(page.locator(".stat-card").first).to_contain_text("0")
    screenshot(page, "home-new-user")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("You have signed out")
    assert token(page) is None

    page.goto("/#/register")
    page.get_by_label("Full name").fill("Someone Else")
    page.get_by_label("Username").fill("jsmith")
    page.get_by_label("Password").fill("another password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_have_text("username 'jsmith' is already taken")

    page.get_by_role("link", name="Sign in").click()
    # The sign-in view replaces the form: fill it only once it is there.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill("jsmith")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("incorrect username or password")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert token(page)


def test_upload_by_the_file_input_shows_the_result_and_history(
    page: Page, api, live_server, screenshot
) -> None:
    user = new_user(api, "Dr Grace Hopper")
    sign_in(page, user, "upload")
    expect(page.get_by_label("Model")).to_have_value("mobilenetv2")
    page.get_by_label("Model").select_option("rf")
    image = samples(live_server.samples)[3]
    page.locator("#file-input").set_input_files(image)
    expect(page.locator("#preview")).to_have_attribute(
        "alt", f"Preview of {image.name}"
    )
    expect(page.locator("#file-info")).to_contain_text(image.name)
    screenshot(page, "upload")

    held: list[Route] = []
    page.route("**/api/predictions", lambda route: held.append(route))
    grade = page.get_by_role("button", name="Grade X-ray")
    grade.click()
    expect(page.locator("#grade")).to_be_disabled()
    expect(page.locator("#grade")).to_have_text("Grading…")
    expect(page.locator("#drop-zone")).to_have_attribute("aria-disabled", "true")
    held[0].continue_()
    page.unroute("**/api/predictions")

    expect_result(page, "Random Forest", image.name)
    expect(page).to_have_url(re.compile(r"#/result/\d+$"))
    screenshot(page, "result")

    nav(page, "History").click()
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(image.name)
    expect(rows.first.locator(".kl-badge")).to_have_text(GRADE)


def test_upload_by_drag_and_drop(page: Page, api, live_server) -> None:
    sign_in(page, new_user(api), "upload")
    expect(page.get_by_label("Model")).to_have_value("mobilenetv2")
    image = samples(live_server.samples)[8]
    page.evaluate(DROP, {"url": f"/api/samples/{image.name}", "name": image.name})
    expect(page.locator("#file-info")).to_contain_text(image.name)
    page.get_by_role("button", name="Grade X-ray").click()
    expect_result(page, "MobileNetV2", image.name)


def test_the_drop_zone_works_from_the_keyboard(page: Page, api, live_server) -> None:
    # Playwright turns on catching file pickers asynchronously: turn it on before the page acts
    page.on("filechooser", lambda chooser: None)
    sign_in(page, new_user(api), "upload")
    zone = page.get_by_role("button", name=re.compile("Choose an X-ray"))
    zone.focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(samples(live_server.samples)[0])
    expect(page.locator("#file-info")).to_contain_text("samples_0_0000.png")
    expect(zone).to_be_focused()
    with page.expect_file_chooser():
        page.keyboard.press(" ")


def test_history_pages_opens_and_deletes(
    page: Page, api, live_server, screenshot
) -> None:
    user = new_user(api)
    images = samples(live_server.samples)
    made = [
        upload(api, user, image, model)
        for image, model in zip(images + images[:1], itertools.cycle(MODELS))
    ]
    newest = made[-1]
    sign_in(page, user, "history")
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(10)
    expect(page.get_by_text("Scans 1–10 of 11 · page 1 of 2")).to_be_visible()
    expect(rows.first).to_have_attribute("data-id", str(newest["id"]))
    expect(rows.first).to_contain_text(newest["original_filename"])
    expect(rows.first).to_contain_text(f"{newest['confidence'] * 100:.1f} %")
    expect(rows.first.locator(".kl-badge")).to_have_text(GRADE)
    page.wait_for_function(
        "[...document.querySelectorAll('#history-table img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    screenshot(page, "history", publish="ui-history.png", full_page=True)

    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_text("Scans 11–11 of 11 · page 2 of 2")).to_be_visible()
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(10)

    rows.first.get_by_role("link", name=re.compile("^Open")).click()
    expect(page.locator("#result")).to_have_attribute("data-id", str(newest["id"]))
    expect_result(page, newest["model_name"], newest["original_filename"])
    page.go_back()

    dialog = page.get_by_role("dialog")
    rows.first.get_by_role("button", name=re.compile("^Delete")).click()
    expect(dialog).to_contain_text(newest["original_filename"])
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Scans 1–10 of 11")).to_be_visible()

    rows.first.get_by_role("button", name=re.compile("^Delete")).click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#messages")).to_contain_text("Deleted the scan")
    expect(page.get_by_text("Scans 1–10 of 10 · page 1 of 1")).to_be_visible()
    gone = api.get(f"/api/predictions/{newest['id']}", headers=user.headers)
    assert gone.status == 404


def test_home_shows_the_users_figures(page: Page, api, live_server, screenshot) -> None:
    user = new_user(api)
    made = [upload(api, user, image) for image in samples(live_server.samples)[:3]]
    sign_in(page, user)
    expect(page.locator(".stat-card").first).to_contain_text("3")
    latest = page.get_by_role("link", name=re.compile(made[-1]["original_filename"]))
    expect(latest).to_have_attribute("href", f"#/result/{made[-1]['id']}")
    screenshot(page, "home")


def test_analytics_draws_four_charts_with_data(
    page: Page, api, live_server, screenshot
) -> None:
    user = new_user(api)
    for image, model in zip(samples(live_server.samples), itertools.cycle(MODELS)):
        upload(api, user, image, model)
    sign_in(page, user, "analytics")
    page.wait_for_function("ids => ids.every(id => Chart.getChart(id))", arg=CHARTS)
    for chart in CHARTS:
        assert any(value > 0 for value in chart_values(page, chart)), chart
    assert sum(chart_values(page, "chart-grades")) == 10
    assert sum(chart_values(page, "chart-days")) == 10
    assert sum(chart_values(page, "chart-confidence")) == 10
    labels = page.evaluate("Chart.getChart('chart-models').data.labels")
    assert labels == [
        f"{name} (synthetic demo)"
        for name in ["MobileNetV2", "Custom CNN", "Random Forest"]
    ]
    expect(page.locator("#metrics-table tbody tr")).to_have_count(3)
    screenshot(page, "analytics", publish="ui-analytics.png", full_page=True)


def test_analytics_without_scans_says_so(page: Page, api) -> None:
    sign_in(page, new_user(api), "analytics")
    expect(page.get_by_text("No scans yet: grade an X-ray")).to_have_count(3)
    page.wait_for_function("Chart.getChart('chart-models')")


def test_samples_download_and_grade(
    page: Page, api, live_server, screenshot, tmp_path: Path
) -> None:
    sign_in(page, new_user(api), "samples")
    expect(page.locator(".sample-card")).to_have_count(10)
    page.wait_for_function(
        "[...document.querySelectorAll('.sample-card img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    screenshot(page, "samples", full_page=True)

    sample = samples(live_server.samples)[2]
    with page.expect_download() as info:
        page.get_by_role("link", name=f"Download {sample.name}").click()
    download = info.value
    assert download.suggested_filename == sample.name
    download.save_as(tmp_path / sample.name)
    assert (tmp_path / sample.name).read_bytes() == sample.read_bytes()

    page.get_by_role("button", name=f"Grade sample {sample.name}").click()
    expect_result(page, "MobileNetV2", sample.name)


def test_bad_files_and_failures_show_clear_messages(
    page: Page, api, screenshot, tmp_path: Path
) -> None:
    sign_in(page, new_user(api), "upload")
    expect(page.get_by_label("Model")).to_have_value("mobilenetv2")
    file_input = page.locator("#file-input")
    alert = page.get_by_role("alert")

    notes = tmp_path / "notes.txt"
    notes.write_text("not an X-ray")
    file_input.set_input_files(notes)
    expect(alert).to_contain_text("“notes.txt” is not an image KneeGrade accepts")
    expect(page.locator("#grade")).to_be_disabled()

    huge = tmp_path / "huge.png"
    with huge.open("wb") as sparse:
        sparse.truncate(21 << 20)
    file_input.set_input_files(huge)
    expect(alert).to_contain_text("above the upload limit of 20.0 MiB")

    fake = tmp_path / "fake.png"
    fake.write_text("a text file wearing a .png name")
    file_input.set_input_files(fake)
    expect(page.get_by_text("This browser cannot preview the file")).to_be_visible()
    page.get_by_role("button", name="Grade X-ray").click()
    expect(alert).to_have_text(
        "the file is not an image: upload a PNG, JPEG, BMP, TIFF or DICOM file"
    )
    expect(page.locator("#grade")).to_be_enabled()
    screenshot(page, "upload-error")

    page.route("**/api/stats", lambda route: route.abort())
    nav(page, "Home").click()
    expect(alert).to_contain_text("Cannot reach the KneeGrade server")


def test_an_expired_session_returns_to_sign_in(page: Page, api, screenshot) -> None:
    sign_in(page, new_user(api))
    page.evaluate("key => sessionStorage.setItem(key, 'expired.or.forged')", TOKEN_KEY)
    nav(page, "History").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text(
        "Your session has expired, please sign in again."
    )
    assert token(page) is None
    screenshot(page, "session-expired")


def test_views_fit_a_tablet(page: Page, api, live_server, screenshot) -> None:
    user = new_user(api)
    made = upload(api, user, samples(live_server.samples)[6])
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, user)
    for view in [*TABLET_VIEWS, f"result/{made['id']}"]:
        page.goto(f"/#/{view}")
        expect(page.locator("#view .spinner-border")).to_have_count(0)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"#/{view} scrolls sideways by {overflow} px at 768 px"
        screenshot(page, f"tablet-{view.replace('/', '-')}", full_page=True)
    page.get_by_role("button", name="Toggle navigation").click()
    expect(nav(page, "Analytics")).to_be_visible()
