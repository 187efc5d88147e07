"""The PDF report route: one page carrying the grade, the review flag and both pictures."""

import io

from api_helpers import Account, app_state, register, upload
from fastapi.testclient import TestClient
from pypdf import PdfReader

from kneegrade_api.models import Prediction


def _pdf(api: TestClient, user: Account, url: str) -> PdfReader:
    response = api.get(url, headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF")
    return PdfReader(io.BytesIO(response.content))


def test_report_carries_the_grade_flag_model_and_pictures(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    body = upload(api, user, sample_png, "cnn").json()
    id_ = body["id"]
    response = api.get(body["report_url"], headers=user.headers)
    assert (
        f'filename="kneegrade-report-{id_}.pdf"'
        in response.headers["content-disposition"]
    )
    pdf = _pdf(api, user, body["report_url"])
    (page,) = pdf.pages
    text = page.extract_text()
    assert f"KL {body['grade']}" in text and body["name"] in text
    assert body["model_name"] in text and "Not for diagnostic use" in text
    assert "Grad-CAM" in text
    assert len(page.images) == 2  # the X-ray and its heatmap


def _report_text(api: TestClient, user: Account, body: dict, probabilities) -> str:
    """The report's words after the stored probabilities were set to ``probabilities``."""
    with app_state(api).sessions() as session:
        session.get(Prediction, body["id"]).probabilities = probabilities
        session.commit()
    (page,) = _pdf(api, user, body["report_url"]).pages
    return " ".join(page.extract_text().split())


def test_report_shows_the_review_flag_and_its_reason_or_says_none_was_raised(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    body = upload(api, user, sample_png, "rf").json()
    split = _report_text(api, user, body, [0.02, 0.52, 0.36, 0.05, 0.05])
    assert "Review recommended" in split
    assert "Split on whether OA is present: 54% for KL 0-1, 46% for KL 2-4." in split
    clear = _report_text(api, user, body, [0.01, 0.02, 0.94, 0.02, 0.01])
    assert "No review flag was raised for this scan." in clear
    assert "Review recommended" not in clear


def _forget_heatmap(
    api: TestClient, prediction_id: int, model: str | None = None
) -> None:
    """As for a prediction made before heatmaps, or one whose heatmap a restart lost."""
    with app_state(api).sessions() as session:
        row = session.get(Prediction, prediction_id)
        row.heatmap_path = None
        row.model_id = model or row.model_id
        session.commit()


def test_a_missing_heatmap_is_made_on_request(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    body = upload(api, user, sample_png, "mobilenetv2").json()
    _forget_heatmap(api, body["id"])
    heatmap = api.get(body["heatmap_url"], headers=user.headers)
    assert heatmap.status_code == 200 and heatmap.headers["content-type"] == "image/png"
    (page,) = _pdf(api, user, body["report_url"]).pages
    assert len(page.images) == 2


def test_report_without_heatmap_when_its_model_is_gone(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    body = upload(api, user, sample_png, "rf").json()
    _forget_heatmap(api, body["id"], model="retired-model")
    missing = api.get(body["heatmap_url"], headers=user.headers)
    assert missing.status_code == 404
    assert "retired-model" in missing.json()["detail"]
    (page,) = _pdf(api, user, body["report_url"]).pages
    assert len(page.images) == 1


def test_reports_are_the_owners_alone(
    api: TestClient, user: Account, sample_png: bytes
) -> None:
    body = upload(api, user, sample_png, "rf").json()
    assert api.get(body["report_url"], headers=register(api).headers).status_code == 404
    assert api.get(body["report_url"]).status_code == 401
