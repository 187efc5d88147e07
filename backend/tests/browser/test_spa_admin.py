"""The Admin view: an administrator reads the audit trail (filtered by action), makes an API key
that is shown once and works, revokes it, and makes an account; a clinician sees no Admin link,
and is told the page is for administrators when they open it by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from conftest import LAPTOP, LiveServer, serve
from playwright.sync_api import APIRequestContext, Browser, Page, expect
from spa_helpers import User, new_user, policy_violations, samples, sign_in, upload

ADMIN = {"admin_username": "root", "admin_password": "root-Sup3r-secret!"}


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, synthetic: Path
) -> Iterator[LiveServer]:
    """The synthetic demo models, with the first admin made from the settings."""
    data_dir = tmp_path_factory.mktemp("spa-admin") / "data"
    with serve(data_dir, [models_dir], synthetic / "samples", **ADMIN) as server:
        yield server


def _grade_with_key(server: LiveServer, key: str) -> httpx.Response:
    image = samples(server.samples)[2]
    return httpx.post(
        f"{server.url}/api/predictions",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": (image.name, image.read_bytes(), "image/png")},
        data={"model": "rf"},
        timeout=60,
    )


def test_an_admin_audits_makes_and_revokes_an_api_key_and_makes_an_account(
    page: Page, api: APIRequestContext, live_server: LiveServer
) -> None:
    clinician = new_user(api, "Dr Grace Hopper")
    made = upload(api, clinician, samples(live_server.samples)[4])
    viewed = api.get(f"/api/predictions/{made['id']}", headers=clinician.headers)
    assert viewed.ok, viewed.text()

    # sign in through the form: the login is itself in the trail
    page.goto("/#/login")
    page.get_by_label("Username").fill(ADMIN["admin_username"])
    page.get_by_label("Password").fill(ADMIN["admin_password"])
    page.get_by_role("button", name="Sign in").click()
    admin_link = page.locator("#nav-admin")
    expect(admin_link).to_be_visible()
    admin_link.get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"#/admin$"))

    audit = page.locator("#audit-table tbody tr")
    expect(
        audit.filter(has_text=ADMIN["admin_username"]).and_(
            page.locator("[data-action=login]")
        )
    ).to_have_count(1)
    created = audit.and_(page.locator("[data-action=created]")).filter(
        has_text=clinician.username
    )
    expect(created).to_have_count(1)
    expect(created.get_by_role("link", name=f"#{made['id']}")).to_have_attribute(
        "href", f"#/result/{made['id']}"
    )
    expect(
        audit.and_(page.locator("[data-action=viewed]")).filter(
            has_text=clinician.username
        )
    ).to_have_count(1)

    # filtering by action: only views remain, and the count says so
    page.get_by_label("Action").select_option("viewed")
    expect(page).to_have_url(re.compile(r"#/admin/audit\?action=viewed$"))
    expect(audit).to_have_count(1)
    expect(audit.first).to_have_attribute("data-action", "viewed")
    expect(page.locator("#audit-count")).to_have_text("Events 1–1 of 1")
    expect(page.locator("#audit-next")).to_be_disabled()

    # an API key for the clinician's account: shown once, and it works
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("PACS router")
    expect(page.get_by_label("read", exact=True)).to_be_checked()
    expect(page.get_by_label("predict", exact=True)).to_be_checked()
    page.get_by_label("Account (optional)").fill(clinician.username)
    page.get_by_role("button", name="Create key").click()
    box = page.locator("#new-api-key")
    expect(box).to_contain_text("it will not be shown again")
    key = page.locator("#new-api-key-value").input_value()
    assert key.startswith("kg_")
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-api-key")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key

    graded = _grade_with_key(live_server, key)
    assert graded.status_code == 201, graded.text
    listed = httpx.get(
        f"{live_server.url}/api/predictions",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert listed.status_code == 200
    assert listed.json()["total"] == 2  # the clinician's two scans

    row = page.locator("#api-keys-table tbody tr").filter(has_text="PACS router")
    expect(row).to_contain_text(clinician.username)
    expect(row).to_contain_text("predict")
    page.reload()
    expect(row).to_be_visible()
    expect(page.locator("#new-api-key")).to_have_count(0)
    assert key not in page.content()
    expect(row.locator("td").nth(5)).not_to_have_text("never")  # last used

    # revoking asks first, then the key is refused
    row.get_by_role("button", name="Revoke API key PACS router").click()
    page.locator("#confirm-ok").click()
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button")).to_have_count(0)
    assert _grade_with_key(live_server, key).status_code == 401

    # the key's grading is in the trail with its key id
    key_id = row.get_attribute("data-id")
    page.goto(f"/#/admin/audit?action=created&username={clinician.username}")
    expect(audit).to_have_count(2)
    expect(audit.filter(has_text=f"key #{key_id}")).to_have_count(1)

    # an account, then the same username again: the API's 409 is shown at the field
    page.get_by_role("link", name="Accounts").click()
    page.get_by_label("Username").fill("newdoc")
    page.get_by_label("Full name").fill("Dr New Doc")
    page.get_by_label("Password").fill("tibia-Plateau-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#messages")).to_contain_text("Created the clinician account")
    expect(page.locator("#accounts-table tr[data-username=newdoc]")).to_contain_text(
        "Dr New Doc"
    )
    page.get_by_label("Username").fill("newdoc")
    page.get_by_label("Full name").fill("Dr Other Doc")
    page.get_by_label("Password").fill("tibia-Plateau-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#account-username-feedback")).to_contain_text("taken")
    expect(page.locator("#messages .alert-danger")).to_contain_text("taken")
    login = api.post(
        "/api/auth/login", form={"username": "newdoc", "password": "tibia-Plateau-42"}
    )
    assert login.ok, login.text()


def test_an_admin_restores_a_deleted_prediction_from_the_trail(
    page: Page, api: APIRequestContext, live_server: LiveServer
) -> None:
    clinician = new_user(api)
    made = upload(api, clinician, samples(live_server.samples)[1])
    path = f"/api/predictions/{made['id']}"
    assert api.delete(path, headers=clinician.headers).ok
    assert api.get(path, headers=clinician.headers).status == 404

    login = api.post(
        "/api/auth/login",
        form={"username": ADMIN["admin_username"], "password": ADMIN["admin_password"]},
    )
    admin = User(
        ADMIN["admin_username"],
        ADMIN["admin_password"],
        "Administrator",
        login.json()["access_token"],
    )
    sign_in(page, admin)
    page.goto(f"/#/admin/audit?action=deleted&prediction_id={made['id']}")
    page.get_by_role("button", name=f"Restore prediction {made['id']}").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#messages")).to_contain_text(
        f"Restored prediction #{made['id']}"
    )
    expect(page.locator("#audit-table")).to_contain_text("Restored")
    assert api.get(path, headers=clinician.headers).ok
    page.goto(f"/#/admin/audit?prediction_id={made['id']}")
    restored = page.locator("#audit-table tbody tr[data-action=restored]")
    expect(restored).to_have_count(1)


def test_a_clinician_sees_no_admin_link_and_is_told_the_page_is_for_admins(
    page: Page, api: APIRequestContext
) -> None:
    clinician = new_user(api)
    sign_in(page, clinician)
    expect(page.get_by_role("link", name="Upload")).to_be_visible()
    expect(page.locator("#nav-admin")).to_be_hidden()
    page.goto("/#/admin/keys")
    expect(page.get_by_test_id("admins-only")).to_contain_text("Administrators only")
    expect(page.locator("#api-key-form")).to_have_count(0)
    assert api.get("/api/admin/audit", headers=clinician.headers).status == 403


def test_the_admin_view_runs_under_the_content_security_policy(
    browser: Browser, api: APIRequestContext, live_server: LiveServer
) -> None:
    login = api.post(
        "/api/auth/login",
        form={"username": ADMIN["admin_username"], "password": ADMIN["admin_password"]},
    )
    token = login.json()["access_token"]
    me = api.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    admin = User(me["username"], ADMIN["admin_password"], me["name"], token)
    context = browser.new_context(base_url=live_server.url, viewport=LAPTOP)
    page = context.new_page()
    violations = policy_violations(page)
    sign_in(page, admin, "admin")
    expect(page.locator("#audit-table")).to_be_visible()
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("CSP check")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-api-key")).to_be_visible()
    page.get_by_role("link", name="Accounts").click()
    expect(page.locator("#accounts-table")).to_be_visible()
    page.wait_for_load_state("networkidle")
    context.close()
    assert not violations, violations
