"""The models this server grades with, with their model cards and evaluation metrics."""

from fastapi import APIRouter

from kneegrade_api.deps import CurrentUser, StateDep
from kneegrade_api.errors import UNAUTHORIZED, error_responses
from kneegrade_api.inference import ServedModel
from kneegrade_api.schemas import ModelOut
from kneegrade_ml.serving import display_name, heatmap_caption

router = APIRouter(prefix="/models", tags=["models"])


def model_out(model: ServedModel, default: bool) -> ModelOut:
    card = model.card
    info = model.info
    return ModelOut(
        id=model.id,
        kind=model.kind,
        kind_name=display_name(model.kind),
        heatmap_caption=heatmap_caption(model.kind),
        name=info.name,
        version=info.version,
        default=default,
        engine=model.predictor.engine,
        precision=model.predictor.precision,
        data_kind=info.data_kind,
        demo=info.demo,
        warning=info.warning,
        trained_on=info.trained_on,
        metrics_on=info.metrics_on,
        intended_use=info.intended_use,
        limitations=list(info.limitations),
        changelog=card.get("changelog") or {},
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
    description="Each loaded model, the default first: its id (the `model` to ask for when"
    " uploading), name, version, what it learned from (a `demo` learned from synthetic"
    " images and cannot grade real radiographs), intended use, limitations, model card and"
    " held-out evaluation metrics with the data they were measured on. Models that failed"
    " to load are listed by `/api/health`.",
    responses=error_responses(UNAUTHORIZED),
)
def list_models(state: StateDep, user: CurrentUser) -> list[ModelOut]:
    registry = state.registry
    models = sorted(registry.models.values(), key=lambda m: m.id != registry.default)
    return [model_out(m, m.id == registry.default) for m in models]
