"""Liveness for load balancers and container health checks, with the models' state."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text

from kneegrade_api import __version__
from kneegrade_api.deps import StateDep
from kneegrade_api.errors import error_responses
from kneegrade_api.inference import LOADED
from kneegrade_api.schemas import HealthOut

router = APIRouter(prefix="/health", tags=["health"])


@router.get(
    "",
    summary="Is the service up?",
    description="`ok` when the database answers and every configured model is loaded;"
    " `degraded` when the database answers but a model is not. Each configured model (by id;"
    " a models folder that does not exist by its name) is `loaded`, `missing` or"
    " `error: <why>` (e.g. a weight file that does not match its sha256). `localiser`, the"
    " knee-joint finder, is `loaded`, `off` (turned off: images are graded whole), `missing` or"
    " `error: <why>`; anything but `loaded` or `off` is `degraded` too.",
    responses=error_responses({503: "The database does not answer"}),
)
def health(state: StateDep) -> HealthOut:
    try:
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means the same: no database
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"database unavailable: {type(err).__name__}",
        ) from err
    registry = state.registry
    ok = (
        registry.default is not None
        and all(model_state == LOADED for model_state in registry.status.values())
        and state.localiser_status in (LOADED, "off")
    )
    return HealthOut(
        status="ok" if ok else "degraded",
        database="ok",
        models=dict(state.registry.status),
        localiser=state.localiser_status,
        version=__version__,
    )
