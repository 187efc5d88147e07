"""Bodies of the admin routes: accounts, API keys and the audit trail."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kneegrade_api.api_keys import Scope
from kneegrade_api.audit import Action
from kneegrade_api.schemas import UserCreate, UserOut


class AccountCreate(UserCreate):
    """An account an admin makes (the only way in when self-registration is closed)."""

    role: Literal["clinician", "admin"] = "clinician"


class AuditEventOut(BaseModel):
    """One event of the trail."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    user_id: int | None = Field(description="null for a failed login")
    username: str = Field(description="the account, or the name a failed login tried")
    action: Action
    prediction_id: int | None
    detail: str | None = Field(
        description="what of the prediction: image, heatmap, report, fhir, dicom-sr...",
        examples=["report"],
    )
    api_key_id: int | None = Field(description="the API key used; null for a person")
    client: str | None = Field(description="the client's address")


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    total: int
    limit: int
    offset: int


class ApiKeyCreate(BaseModel):
    """A key for a machine client, acting as ``username`` (by default the admin making it)."""

    name: str = Field(min_length=1, max_length=100, examples=["PACS router"])
    scopes: list[Scope] = Field(
        min_length=1,
        description="`read` (GET), `predict` (POST: grading), `delete` (DELETE)",
        examples=[["predict", "read"]],
    )
    username: str | None = Field(
        default=None,
        description="the account whose history the key reads and writes",
    )


class ApiKeyOut(BaseModel):
    """A key as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(
        description="the public part: the key reads kg_<prefix>_<secret>"
    )
    scopes: list[Scope]
    user: UserOut
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    """A new key, with the whole key: shown this once, kept only as a hash."""

    key: str = Field(description="send as `Authorization: Bearer <key>`")
