"""Settings of the API, read from ``KNEEGRADE_*`` environment variables."""

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Where the API keeps its data and models, and the limits it enforces."""

    model_config = SettingsConfigDict(env_prefix="KNEEGRADE_", extra="ignore")

    data_dir: Path = Path("data")
    """Database (by default), uploads and the generated secret key live here."""
    database_url: str | None = None
    """Any SQLAlchemy URL; unset means the SQLite file ``{data_dir}/kneegrade.db``."""
    models_dir: Annotated[list[Path], NoDecode] = [Path("models")]
    """Where the served models are: model directories (a ``model.json`` each) or folders of them,
    comma-separated. A model's id is its directory's name. The default is the released
    real-radiograph model; ``artifacts/models`` holds the synthetic demos ``make pipeline`` builds."""
    default_model: str | None = None
    """The model id that grades when a request names none; unset means the newest release (by
    version) trained on real radiographs, else ``mobilenetv2``, else the first loaded."""
    migrate_on_start: bool = True
    """Each server process brings the database to the newest schema as it starts (one at a time,
    under a lock in the data folder). Replicas on several hosts set it false and run
    ``kneegrade-api migrate`` once before they start; a server then refuses an older database."""
    workers: int = Field(default=1, ge=1)
    """Server processes ``kneegrade-api`` starts; each loads the models once (README: memory)."""
    engine: Literal["onnx", "torch"] = "onnx"
    """What runs the networks' forward passes: ONNX Runtime (exported from the weights at start,
    checked against torch; a network that fails the check falls back to torch), or torch."""
    localiser_dir: Path | None = Path("localiser")
    """The knee-joint localiser that finds each knee before grading; empty turns it off (every
    image is then graded whole, as a single-knee crop)."""
    samples_dir: Path = Path("artifacts/synthetic/samples")
    """The demo images, as ``<grade>/*.png``."""
    frontend_dir: Path = Path("frontend")
    """The single-page app, served at ``/`` when the folder exists."""
    secret_key: SecretStr | None = None
    """Signs the access tokens; unset means one generated once and kept in ``{data_dir}/secret_key``."""
    login_rate_limit: str = "20/minute"
    """Login attempts per client address (``limits`` notation: N per second/minute/hour)."""
    register_rate_limit: str = "10/hour"
    """New accounts per client address."""
    failed_login_limit: str = "5/15 minutes"
    """Wrong passwords per username before it is locked until the window passes."""
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    """A token's lifetime: at most a day."""
    max_upload_bytes: int = Field(default=20 * MiB, ge=1)
    max_image_pixels: int = Field(default=50_000_000, ge=1)
    """Refused before decoding: a guard against decompression bombs."""
    max_image_side: int = Field(default=3072, ge=256)
    """Uploads with a longer side are scaled down to it (aspect kept) before anything else, so no
    upload costs more than a 3072-pixel radiograph to grade, store, explain and report."""
    max_heavy_per_user: int = Field(default=4, ge=1)
    """Uploads, batches, heatmaps and reports one account may have in progress at once."""
    max_heavy_total: int = Field(default=16, ge=1)
    """The same for the whole process; beyond either cap a request waits, then gets a 429."""
    heavy_wait_seconds: float = Field(default=10.0, ge=0)
    """How long a request over a cap waits for a slot before its 429."""
    max_batch_files: int = Field(default=20, ge=1)
    """Images in one batch request, zip members included."""
    max_batch_bytes: int = Field(default=100 * MiB, ge=1)
    """The whole batch request body; each file is also held to ``max_upload_bytes``."""
    registration_open: bool = True
    """Whether anyone may create a clinician account; closed, only an admin creates accounts."""
    admin_username: str | None = None
    """An administrator account made at start when no account has this name (an existing one is
    made admin); with ``admin_password``."""
    admin_password: SecretStr | None = None
    """The first admin's password; held to the same policy as every password."""
    cors_origins: Annotated[list[str], NoDecode] = []
    """Origins allowed to call the API from a browser: a JSON list or comma-separated."""
    pacs_url: str | None = None
    """A PACS's DICOMweb root (e.g. Orthanc's ``http://pacs:8042/dicom-web``): when set, each
    prediction of a DICOM upload is sent there (STOW-RS) as an SR, an SC and a PDF."""
    pacs_poll_seconds: float = Field(default=5.0, gt=0)
    """How often the delivery loop looks for outputs due to be sent."""
    pacs_retry_seconds: float = Field(default=30.0, gt=0)
    """The wait after a failed send; it doubles with each failure up to ``pacs_retry_max_seconds``."""
    pacs_retry_max_seconds: float = Field(default=3600.0, gt=0)
    pacs_timeout_seconds: float = Field(default=30.0, gt=0)
    """How long one STOW-RS request may take."""

    @field_validator("pacs_url", mode="before")
    @classmethod
    def _blank_pacs_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator(
        "database_url",
        "secret_key",
        "localiser_dir",
        "admin_username",
        "admin_password",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """``KNEEGRADE_SECRET_KEY=`` (as compose passes an unset variable) means unset, not ""."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("cors_origins", "models_dir", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Accept ``a,b`` as well as ``["a", "b"]`` from the environment, and one path alone."""
        if isinstance(value, Path):
            return [value]
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def database(self) -> str:
        """The database URL in effect."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kneegrade.db').resolve()}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret_key"
