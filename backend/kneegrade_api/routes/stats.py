"""The caller's dashboard figures."""

from fastapi import APIRouter

from kneegrade_api import crud
from kneegrade_api.deps import CurrentUser, SessionDep, StateDep
from kneegrade_api.errors import UNAUTHORIZED, error_responses
from kneegrade_api.schemas import StatsOut
from kneegrade_api.stats import compute_stats

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get(
    "",
    summary="The caller's statistics",
    description="Scans in all, per KL grade, per day (last 30 days, UTC), per confidence bin"
    " and per model, with the mean confidence and the time of the last scan.",
    responses=error_responses(UNAUTHORIZED),
)
def get_stats(user: CurrentUser, session: SessionDep, state: StateDep) -> StatsOut:
    served = {model_id: m.name for model_id, m in state.registry.models.items()}
    return compute_stats(crud.prediction_summaries(session, user.id), served)
