"""The FastAPI application: the JSON API under ``/api``, docs at ``/docs``, the SPA at ``/``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from kneegrade_api import __version__
from kneegrade_api.config import Settings
from kneegrade_api.delivery import start_delivery
from kneegrade_api.errors import install_error_handlers
from kneegrade_api.headers import SecurityHeadersMiddleware
from kneegrade_api.limits import MULTIPART_OVERHEAD, BodySizeLimitMiddleware
from kneegrade_api.routes import (
    admin,
    auth,
    batch,
    health,
    models,
    predictions,
    samples,
    stats,
)
from kneegrade_api.routes.batch import BATCH_PATH
from kneegrade_api.state import AppState

DESCRIPTION = """Grades knee osteoarthritis on X-rays on the Kellgren-Lawrence scale
(0 Normal, 1 Doubtful, 2 Mild, 3 Moderate, 4 Severe).

Register, log in for a bearer token (OAuth2 password flow), then upload radiographs to
`POST /api/predictions`. Machine clients send an API key an administrator made
(`Authorization: Bearer kg_...`) instead. Every error is JSON `{"detail": "<message>"}`."""

TAGS = [
    {"name": "auth", "description": "Accounts and access tokens"},
    {"name": "predictions", "description": "Grading X-rays and the caller's history"},
    {"name": "stats", "description": "The caller's dashboard figures"},
    {"name": "models", "description": "The models served and their model cards"},
    {"name": "samples", "description": "Synthetic demo images to try"},
    {"name": "health", "description": "Liveness and model status"},
    {
        "name": "admin",
        "description": "Accounts, API keys and the audit trail (administrators only)",
    },
]


def api_router() -> APIRouter:
    """Every resource's routes under ``/api``."""
    router = APIRouter(prefix="/api")
    for module in (auth, batch, predictions, stats, models, samples, health, admin):
        router.include_router(module.router)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database, signing key and models are set up when it starts serving."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState.start(settings)
        app.state.kneegrade = state
        app.state.delivery = start_delivery(state)  # None unless a PACS URL is set
        try:
            yield
        finally:
            if app.state.delivery is not None:
                app.state.delivery.stop()
            state.close()

    app = FastAPI(
        title="KneeGrade API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD,
        path_limits={BATCH_PATH: settings.max_batch_bytes + MULTIPART_OVERHEAD},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        SecurityHeadersMiddleware
    )  # outermost: on every answer, 413s too
    app.include_router(api_router())
    if settings.frontend_dir.is_dir():
        app.mount(
            "/", StaticFiles(directory=settings.frontend_dir, html=True), name="spa"
        )
    return app


app = create_app()
