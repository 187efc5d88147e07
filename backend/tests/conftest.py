"""Fixtures: tiny real models trained once per session, and apps built on temporary folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_helpers import UNTHROTTLED, Account, fresh_database, register
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from kneegrade_api import security
from kneegrade_api.config import Settings
from kneegrade_api.main import create_app

KINDS = ("mobilenetv2", "cnn", "rf")


@pytest.fixture(autouse=True)
def _no_kneegrade_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the tests alone, never from the developer's environment."""
    for name in list(os.environ):
        if name.startswith("KNEEGRADE_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its lightest: real hashes, without spending a second per test user."""
    with pytest.MonkeyPatch.context() as patch:
        light = PasswordHash(
            (Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)
        )
        patch.setattr(security, "_hasher", light)
        yield


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-image synthetic set: 4 train, 2 test and 2 samples per grade."""
    from kneegrade_ml.synth.dataset import generate_dataset

    root = tmp_path_factory.mktemp("synthetic")
    sizes = {"train": 4, "test": 2, "samples": 2}
    generate_dataset(root, seed=0, split_sizes=sizes, workers=1, progress=False)
    return root


@pytest.fixture(scope="session")
def models_dir(synthetic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real model directory per kind, trained for one epoch on the tiny set."""
    import torch
    from torchvision.models import mobilenet_v2

    from kneegrade_ml.training.loop import TrainOptions
    from kneegrade_ml.training.train import train_model

    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    pretrained = root / "mobilenet_v2.pth"
    torch.save(mobilenet_v2().state_dict(), pretrained)
    options = TrainOptions(epochs=1, n_estimators=10)
    for kind in KINDS:
        train_model(kind, synthetic, root / kind, options, pretrained, progress=False)
    pretrained.unlink()
    return root


@pytest.fixture(scope="session")
def rf_models_dir(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only the Random Forest: quick to load for tests that build their own apps."""
    root = tmp_path_factory.mktemp("rf-only")
    shutil.copytree(models_dir / "rf", root / "rf")
    return root


def make_settings(
    data_dir: Path, models_dir: Path, samples_dir: Path, **overrides
) -> Settings:
    """Settings with every field given, so nothing leaks in from the environment."""
    values = {
        "data_dir": data_dir,
        "database_url": fresh_database(),
        "models_dir": models_dir,
        "samples_dir": samples_dir,
        "frontend_dir": data_dir.parent / "no-frontend",
        "secret_key": None,
        "access_token_minutes": 60,
        "max_upload_bytes": 20 * 1024 * 1024,
        "max_image_pixels": 50_000_000,
        "cors_origins": [],
        "localiser_dir": None,
        **UNTHROTTLED,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings_for(
    tmp_path: Path, rf_models_dir: Path, synthetic: Path
) -> Callable[..., Settings]:
    """``settings_for(**overrides)``: a fresh data folder, the RF-only models, the samples."""

    def build(**overrides) -> Settings:
        values = {"models_dir": rf_models_dir, **overrides}
        return make_settings(
            tmp_path / "data", samples_dir=synthetic / "samples", **values
        )

    return build


@pytest.fixture(scope="session")
def api(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, synthetic: Path
) -> Iterator[TestClient]:
    """The app with all three models, started once: tests keep apart by using their own users."""
    data_dir = tmp_path_factory.mktemp("api") / "data"
    app = create_app(make_settings(data_dir, models_dir, synthetic / "samples"))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def user(api: TestClient) -> Account:
    return register(api)


@pytest.fixture(scope="session")
def sample_png(synthetic: Path) -> bytes:
    """A 224x224 synthetic knee (grade 2) as PNG bytes."""
    return next((synthetic / "samples" / "2").glob("*.png")).read_bytes()
