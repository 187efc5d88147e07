"""The models this server grades with, with their model cards and evaluation metrics."""

from fastapi import APIRouter

from kneegrade_api.deps import CurrentUser, StateDep
from kneegrade_api.errors import UNAUTHORIZED, error_responses
from kneegrade_api.inference import ServedModel
from kneegrade_api.schemas import ModelOut
from kneegrade_ml.models.names import DEFAULT_MODEL

router = APIRouter(prefix="/models", tags=["models"])


def model_out(model: ServedModel) -> ModelOut:
    card = model.card
    return ModelOut(
        id=model.kind,
        kind=model.kind,
        name=model.name,
        version=model.version,
        default=model.kind == DEFAULT_MODEL,
        architecture=str(card.get("architecture", "")),
        input=card.get("input") or {},
        hyperparameters=card.get("hyperparameters") or {},
        training=card.get("training"),
        metrics=card.get("metrics"),
        card=card,
    )


@router.get(
    "",
    summary="The models served",
    description="Each loaded model: its id (the `model` to ask for when uploading), name,"
    " version, model card and held-out evaluation metrics. Models that failed to load are"
    " listed by `/api/health`.",
    responses=error_responses(UNAUTHORIZED),
)
def list_models(state: StateDep, user: CurrentUser) -> list[ModelOut]:
    return [model_out(model) for model in state.registry.models.values()]
