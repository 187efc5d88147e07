"""The app as a whole: restarts keep everything, the SPA and docs are served, CORS, OpenAPI."""

import io

import numpy as np
from api_helpers import login, register, upload
from fastapi.testclient import TestClient
from PIL import Image

from kneegrade_api.main import create_app

EXPECTED_ERRORS = {
    ("post", "/api/auth/register"): {"403", "409", "422", "429"},
    ("post", "/api/auth/login"): {"401", "422", "429"},
    ("get", "/api/auth/me"): {"401", "403"},
    ("post", "/api/predictions"): {
        "401",
        "403",
        "409",
        "413",
        "415",
        "422",
        "429",
        "503",
    },
    ("get", "/api/predictions"): {"401", "403", "422"},
    ("get", "/api/predictions/{prediction_id}"): {"401", "403", "404", "422"},
    ("delete", "/api/predictions/{prediction_id}"): {"401", "403", "404", "422"},
    ("get", "/api/predictions/{prediction_id}/image"): {"401", "403", "404", "422"},
    ("get", "/api/predictions/{prediction_id}/thumbnail"): {"401", "403", "404", "422"},
    ("get", "/api/predictions/{prediction_id}/heatmap"): {
        "401",
        "403",
        "404",
        "422",
        "429",
    },
    ("get", "/api/predictions/{prediction_id}/report"): {
        "401",
        "403",
        "404",
        "422",
        "429",
    },
    ("get", "/api/predictions/{prediction_id}/fhir"): {"401", "403", "404", "422"},
    ("get", "/api/predictions/{prediction_id}/dicom"): {
        "401",
        "403",
        "404",
        "422",
        "429",
    },
    ("get", "/api/predictions/{prediction_id}/deliveries"): {
        "401",
        "403",
        "404",
        "422",
    },
    ("post", "/api/predictions/batch"): {"401", "403", "413", "422", "429", "503"},
    ("get", "/api/stats"): {"401", "403"},
    ("get", "/api/models"): {"401", "403"},
    ("get", "/api/samples"): set(),
    ("get", "/api/samples/{name}"): {"404", "422"},
    ("get", "/api/health"): {"503"},
    ("get", "/api/admin/users"): {"401", "403"},
    ("post", "/api/admin/users"): {"401", "403", "409", "422"},
    ("get", "/api/admin/api-keys"): {"401", "403"},
    ("post", "/api/admin/api-keys"): {"401", "403", "404", "422"},
    ("delete", "/api/admin/api-keys/{key_id}"): {"401", "403", "404", "422"},
    ("get", "/api/admin/audit"): {"401", "403", "422"},
    ("post", "/api/admin/predictions/{prediction_id}/restore"): {
        "401",
        "403",
        "404",
        "422",
    },
}


def test_restart_keeps_users_tokens_and_history(
    settings_for, sample_png: bytes
) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as first:
        account = register(first, "persistent")
        made = upload(first, account, sample_png, "rf").json()
    with TestClient(create_app(settings)) as second:
        assert second.get("/api/auth/me", headers=account.headers).status_code == 200
        headers = login(second, account.username, account.password)
        page = second.get("/api/predictions", headers=headers).json()
        assert page["items"] == [made]
        image = second.get(made["image_url"], headers=headers)
        stored = np.asarray(Image.open(io.BytesIO(image.content)))
        assert np.array_equal(stored, np.asarray(Image.open(io.BytesIO(sample_png))))


def test_spa_is_served_at_the_root_when_built(settings_for, tmp_path) -> None:
    frontend = tmp_path / "frontend"
    frontend.mkdir()
    (frontend / "index.html").write_text("<!doctype html><title>KneeGrade</title>")
    with TestClient(create_app(settings_for(frontend_dir=frontend))) as client:
        response = client.get("/")
        assert response.status_code == 200
        assert "KneeGrade" in response.text
        assert client.get("/api/health").status_code == 200
        assert client.get("/docs").status_code == 200


def test_spa_folder_without_index_does_not_break_the_api(
    settings_for, tmp_path
) -> None:
    frontend = tmp_path / "frontend"
    frontend.mkdir()
    (frontend / "README.md").write_text("not built yet")
    with TestClient(create_app(settings_for(frontend_dir=frontend))) as client:
        assert client.get("/").status_code == 404
        assert client.get("/").json() == {"detail": "Not Found"}
        assert client.get("/api/health").status_code == 200


def test_unknown_api_route_is_json_404(api: TestClient) -> None:
    response = api.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_cors_allows_configured_origins_only(settings_for) -> None:
    settings = settings_for(cors_origins=["https://pacs.example.org"])
    with TestClient(create_app(settings)) as client:
        allowed = client.get(
            "/api/health", headers={"Origin": "https://pacs.example.org"}
        )
        assert (
            allowed.headers["access-control-allow-origin"] == "https://pacs.example.org"
        )
        other = client.get(
            "/api/health", headers={"Origin": "https://evil.example.com"}
        )
        assert "access-control-allow-origin" not in other.headers


def test_openapi_documents_every_route_and_its_errors(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    operations = {
        (method, path): operation
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }
    assert set(operations) == set(EXPECTED_ERRORS)
    for key, operation in operations.items():
        errors = {
            code for code in operation["responses"] if code.startswith(("4", "5"))
        }
        assert errors == EXPECTED_ERRORS[key], key
        assert operation["summary"], key
        for code in errors:
            schema = operation["responses"][code]["content"]["application/json"][
                "schema"
            ]
            assert schema["$ref"].endswith(("/ErrorOut", "/ValidationErrorOut")), key
    upload_body = spec["paths"]["/api/predictions"]["post"]["requestBody"]
    assert "multipart/form-data" in upload_body["content"]
    assert "PredictionOut" in spec["components"]["schemas"]


def test_docs_are_served(api: TestClient) -> None:
    response = api.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
