"""Adding a model kind is one module and one registration: here a toy network, registered in
this test, trains from the CLI's choices and serves through the API without another edit."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import register as register_user
from api_helpers import upload
from fastapi.testclient import TestClient
from torch import nn

from kneegrade_api.main import create_app
from kneegrade_ml.cli import build_parser
from kneegrade_ml.models.base import TorchClassifier
from kneegrade_ml.models.config import ModelConfig
from kneegrade_ml.models.registry import REGISTRY, ModelKind, register
from kneegrade_ml.preprocess import InputSpec
from kneegrade_ml.training.loop import TrainOptions
from kneegrade_ml.training.train import train_model

pytestmark = pytest.mark.slow


class ToyClassifier(TorchClassifier):
    """Two small convolutions and a linear layer on 32x32 grayscale."""

    kind = "toy"
    architecture = "toy: 2 x [Conv3x3 -> ReLU] -> global average pool -> Linear(4, 5)"

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.network = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(4, 4, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 5),
        )

    def parts(self) -> tuple[None, nn.Module]:
        return None, self.network

    def cam_split(self) -> tuple[nn.Module, nn.Module]:
        cut = self.config.cam_after + 1
        return self.network[:cut], self.network[cut:]


TOY = ModelKind(
    kind="toy",
    display_name="Toy CNN",
    config=ModelConfig("toy", InputSpec(32, 1, (0.0,), (1.0,)), cam_after=3),
    heatmap_caption="Grad-CAM of the toy network",
    recipe="spec",
    classifier=f"{__name__}:ToyClassifier",
)


@pytest.fixture
def toy_kind() -> Iterator[ModelKind]:
    register(TOY)
    yield TOY
    del REGISTRY[TOY.kind]


def test_a_registered_kind_trains_from_the_cli_choices_and_serves(
    toy_kind: ModelKind,
    synthetic: Path,
    settings_for,
    sample_png: bytes,
    tmp_path: Path,
) -> None:
    args = build_parser().parse_args(
        ["train", "--model", "toy", "--data", str(synthetic), "--out", "o"]
    )
    assert args.model == "toy"
    train_model("toy", synthetic, tmp_path / "models" / "toy", TrainOptions(epochs=1))
    with TestClient(create_app(settings_for(models_dir=tmp_path / "models"))) as client:
        account = register_user(client)
        (model,) = client.get("/api/models", headers=account.headers).json()
        assert model["kind"] == "toy" and model["kind_name"] == "Toy CNN"
        assert model["heatmap_caption"] == "Grad-CAM of the toy network"
        assert model["card"]["config"]["input"]["size"] == 32
        made = upload(client, account, sample_png)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["model_kind"] == "toy" and body["model_name"] == "Toy CNN"
        assert body["heatmap_caption"] == "Grad-CAM of the toy network"
        heatmap = client.get(body["heatmap_url"], headers=account.headers)
        assert heatmap.status_code == 200
