"""The web app works under its own content security policy (scripts, styles and images from
KneeGrade alone, nothing evaluated from strings): no violation on any view."""

from __future__ import annotations

from conftest import LAPTOP
from playwright.sync_api import Browser, expect
from spa_helpers import new_user, policy_violations, samples, sign_in, upload


def test_every_view_runs_without_a_policy_violation(browser: Browser, live_server, api):
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP)
    page = context.new_page()
    violations = policy_violations(page)
    user = new_user(api)
    upload(api, user, samples(live_server.samples)[3])
    sign_in(page, user, "upload")
    page.locator("#file-input").set_input_files(samples(live_server.samples)[1])
    page.get_by_role("button", name="Grade X-ray").click()
    expect(page.locator("#result .kl-badge")).to_be_visible()
    for view in ("history", "analytics", "samples", "home"):
        page.goto(f"/#/{view}")
        expect(page.locator("main")).not_to_be_empty()
        page.wait_for_load_state("networkidle")
    context.close()
    assert not violations, violations
