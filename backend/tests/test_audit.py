"""The audit trail: who created, viewed, downloaded and deleted which prediction, and every
login, readable (and filterable) by an admin only."""

from api_helpers import login, register, upload
from fastapi.testclient import TestClient

from kneegrade_api.main import create_app

ADMIN = {"admin_username": "root", "admin_password": "root-Sup3r-secret!"}


def test_every_access_to_a_prediction_is_recorded(
    settings_for, sample_png: bytes
) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        admin = login(client, ADMIN["admin_username"], ADMIN["admin_password"])
        alice, mallory = register(client), register(client)
        created = upload(client, alice, sample_png).json()
        path = f"/api/predictions/{created['id']}"
        for suffix in ("", "/image", "/thumbnail", "/heatmap", "/report", "/fhir"):
            assert client.get(path + suffix, headers=alice.headers).status_code == 200
        assert client.get(path, headers=mallory.headers).status_code == 404
        assert client.delete(path, headers=alice.headers).status_code == 204
        client.post(
            "/api/auth/login", data={"username": alice.username, "password": "nope"}
        )

        trail = client.get(
            "/api/admin/audit", params={"prediction_id": created["id"]}, headers=admin
        ).json()
        events = [(e["username"], e["action"], e["detail"]) for e in trail["items"]]
        assert events[::-1] == [
            (alice.username, "created", None),
            (alice.username, "viewed", None),
            (alice.username, "viewed", "image"),
            (alice.username, "viewed", "heatmap"),
            (alice.username, "downloaded", "report"),
            (alice.username, "downloaded", "fhir"),
            (alice.username, "deleted", None),
        ]
        assert trail["total"] == 7
        assert all(e["client"] and e["api_key_id"] is None for e in trail["items"])

        logins = client.get(
            "/api/admin/audit", params={"username": alice.username}, headers=admin
        ).json()["items"]
        assert [e["action"] for e in logins if e["action"].startswith("login")] == [
            "login_failed",
            "login",
        ]
        failed = client.get(
            "/api/admin/audit", params={"action": "login_failed"}, headers=admin
        ).json()["items"]
        assert [(e["username"], e["user_id"]) for e in failed] == [
            (alice.username, None)
        ]


def test_an_api_keys_work_is_recorded_with_the_key(settings_for, sample_png) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        admin = login(client, ADMIN["admin_username"], ADMIN["admin_password"])
        key = client.post(
            "/api/admin/api-keys",
            json={"name": "ris", "scopes": ["predict"]},
            headers=admin,
        ).json()
        graded = client.post(
            "/api/predictions",
            headers={"Authorization": f"Bearer {key['key']}"},
            files={"file": ("knee.png", sample_png, "image/png")},
        )
        assert graded.status_code == 201, graded.text
        created = client.get(
            "/api/admin/audit", params={"action": "created"}, headers=admin
        ).json()["items"]
        assert [(e["prediction_id"], e["api_key_id"]) for e in created] == [
            (graded.json()["id"], key["id"])
        ]


def test_audit_paging_and_bad_filters(settings_for) -> None:
    with TestClient(create_app(settings_for(**ADMIN))) as client:
        for _ in range(2):
            admin = login(client, ADMIN["admin_username"], ADMIN["admin_password"])
        page = client.get("/api/admin/audit", params={"limit": 1}, headers=admin).json()
        assert (len(page["items"]), page["total"]) == (1, 2)  # the two admin logins
        for bad in ({"action": "stolen"}, {"limit": 0}, {"prediction_id": 2**31}):
            assert (
                client.get("/api/admin/audit", params=bad, headers=admin).status_code
                == 422
            )
