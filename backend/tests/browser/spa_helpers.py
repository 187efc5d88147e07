"""Helpers the browser tests share: users and scans made through the API, a signed-in tab."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import APIRequestContext, Page, expect

TOKEN_KEY = "kneegrade.token"


def policy_violations(page: Page) -> list[str]:
    """A list that fills with the page's content-security-policy reports and script errors."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and violations.append(message.text)
        ),
    )
    page.on("pageerror", lambda error: violations.append(str(error)))
    return violations


_names = itertools.count(1)


@dataclass(frozen=True)
class User:
    username: str
    password: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_user(api: APIRequestContext, name: str = "Dr Ada Byron") -> User:
    """Register and log in a user with a unique username, through the API."""
    username = f"clinician{next(_names)}"
    password = f"{username}-secret"
    created = api.post(
        "/api/auth/register",
        data={"username": username, "password": password, "name": name},
    )
    assert created.status == 201, created.text()
    login = api.post(
        "/api/auth/login", form={"username": username, "password": password}
    )
    assert login.ok, login.text()
    return User(username, password, name, login.json()["access_token"])


def upload(api: APIRequestContext, user: User, image: Path, model: str = "rf") -> dict:
    """Grade ``image`` for ``user`` through the API (the Random Forest is the quickest)."""
    response = api.post(
        "/api/predictions",
        headers=user.headers,
        multipart={
            "file": {
                "name": image.name,
                "mimeType": "image/png",
                "buffer": image.read_bytes(),
            },
            "model": model,
        },
    )
    assert response.status == 201, response.text()
    return response.json()


def sign_in(page: Page, user: User, view: str = "home") -> None:
    """Open the app as ``user`` (the token in sessionStorage, as the sign-in form leaves it)."""
    page.goto("/#/login")
    page.evaluate(
        "([key, token]) => sessionStorage.setItem(key, token)", [TOKEN_KEY, user.token]
    )
    page.goto(f"/#/{view}")
    expect(page.locator("#user-name")).to_have_text(user.name)


def wait_for_result_image(page: Page) -> None:
    """Wait until the result view's X-ray has loaded; the view may not be rendered yet, so a
    missing image is waited for rather than raised as an error."""
    page.wait_for_function("document.getElementById('result-image')?.naturalWidth > 0")


def samples(folder: Path) -> list[Path]:
    """The ten sample PNGs, grade 0 first."""
    return sorted(folder.glob("*/*.png"))


def shown_rect(page: Page, selector: str) -> dict[str, float]:
    """Where ``object-fit: contain`` paints the picture inside the element's box."""
    return page.eval_on_selector(
        selector,
        """img => {
          const r = img.getBoundingClientRect();
          const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
          const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
          return { x: r.x + (r.width - w) / 2, y: r.y + (r.height - h) / 2, width: w, height: h };
        }""",
    )


def chart_values(page: Page, canvas_id: str) -> list[float]:
    """The first dataset's values of the Chart.js chart drawn on ``canvas_id``."""
    return page.evaluate(
        "id => Array.from(Chart.getChart(id).data.datasets[0].data)", canvas_id
    )
