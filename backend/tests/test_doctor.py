"""Files without rows (a crash before the commit) are swept at start and by ``doctor``; rows
without files are reported."""

import os
import time
from pathlib import Path

import pytest
from api_helpers import register, stored_files, upload
from fastapi.testclient import TestClient

from kneegrade_api.__main__ import main
from kneegrade_api.main import create_app

HOUR_AGO = time.time() - 3600


def _orphan(uploads: Path, name: str, mtime: float) -> Path:
    path = uploads / "1" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left by a crash")
    os.utime(path, (mtime, mtime))
    return path


def test_start_up_removes_old_orphans_and_spares_fresh_ones(settings_for) -> None:
    settings = settings_for()
    old = _orphan(settings.uploads_dir, "old.png", HOUR_AGO)
    fresh = _orphan(settings.uploads_dir, "fresh.png", time.time())
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/health").status_code == 200
    assert not old.exists() and fresh.exists()


def test_doctor_reports_then_fixes(
    settings_for, sample_png: bytes, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as client:
        account = register(client)
        made = upload(client, account, sample_png).json()
        image = next(p for p in stored_files(client, account) if ".thumb" not in p.name)
    orphan = _orphan(settings.uploads_dir, "lost.png", HOUR_AGO)
    image.unlink()
    monkeypatch.setenv("KNEEGRADE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KNEEGRADE_DATABASE_URL", settings.database)
    assert main(["doctor"]) == 1
    printed = capsys.readouterr().out
    assert "found 1 upload files" in printed and str(orphan) in printed
    assert f"prediction {made['id']}:" in printed
    assert main(["doctor", "--fix"]) == 1  # the missing file stays missing
    assert not orphan.exists()
