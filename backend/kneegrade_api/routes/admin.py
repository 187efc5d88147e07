"""Administration: accounts, API keys for machine clients, the audit trail and restoring a
deleted prediction. Only an admin signed in with a password gets here (``deps.get_admin``)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from kneegrade_api import api_keys, audit, crud
from kneegrade_api.admin_schemas import (
    AccountCreate,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditEventOut,
    AuditPage,
)
from kneegrade_api.audit import Action
from kneegrade_api.deps import AdminDep, SessionDep, get_admin
from kneegrade_api.errors import UNAUTHORIZED, error_responses
from kneegrade_api.schemas import MAX_ID, PredictionOut, UserOut

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(get_admin)],
    responses=error_responses(
        {**UNAUTHORIZED, 403: "Not an administrator signed in with a password"}
    ),
)
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/users", summary="Every account")
def list_users(session: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(user) for user in crud.list_users(session)]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    responses=error_responses(
        {409: "The username is taken", 422: "Invalid username, password, name or role"}
    ),
)
def create_user(data: AccountCreate, session: SessionDep) -> UserOut:
    try:
        user = crud.create_user(session, data, role=data.role)
    except crud.UsernameTaken as err:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"username {data.username!r} is taken"
        ) from err
    return UserOut.model_validate(user)


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
    description="A key for a machine client that acts as `username` (default: you) within"
    " its scopes. The answer's `key` is the only time the key is shown; only its hash is kept.",
    responses=error_responses(
        {404: "No such account", 422: "No name, or an unknown scope"}
    ),
)
def create_api_key(
    data: ApiKeyCreate, admin: AdminDep, session: SessionDep
) -> ApiKeyCreated:
    owner = admin.user
    if data.username is not None:
        owner = crud.get_user_by_username(session, data.username)
        if owner is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"no account {data.username!r}"
            )
    key, text = api_keys.create_key(session, owner, data.name, data.scopes, admin.user)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=text)


@router.get("/api-keys", summary="Every API key, revoked ones included (no secrets)")
def list_api_keys(session: SessionDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(key) for key in api_keys.list_keys(session)]


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description="It stops working at once; it stays listed, revoked, for the record.",
    response_class=Response,
    responses=error_responses(
        {404: "No such key", 422: "The key id is not an integer from 1 to 2147483647"}
    ),
)
def revoke_api_key(key_id: RecordId, session: SessionDep) -> Response:
    if api_keys.revoke_key(session, key_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no API key {key_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/audit",
    summary="The audit trail",
    description="Who created, viewed, downloaded, deleted or restored which prediction, and"
    " who logged in (or failed to), newest first. Filter by account, prediction or action.",
    responses=error_responses(
        {422: "An unknown action, or a filter or page out of range"}
    ),
)
def list_audit_events(
    session: SessionDep,
    username: str | None = None,
    prediction_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Action | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> AuditPage:
    events, total = audit.list_events(
        session, limit, offset, username, prediction_id, action
    )
    return AuditPage(
        items=[AuditEventOut.model_validate(event) for event in events],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/predictions/{prediction_id}/restore",
    summary="Restore a deleted prediction",
    description="Puts a prediction its owner deleted back in their history (until it is"
    " purged, files and all).",
    responses=error_responses(
        {
            404: "No deleted prediction with this id",
            422: "The prediction id is not an integer from 1 to 2147483647",
        }
    ),
)
def restore_prediction(
    prediction_id: RecordId, admin: AdminDep, session: SessionDep
) -> PredictionOut:
    prediction = crud.get_deleted(session, prediction_id)
    if prediction is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no deleted prediction {prediction_id} (never made, live or purged)",
        )
    crud.restore(session, prediction)
    audit.record(session, admin, "restored", prediction.id)
    return PredictionOut.from_row(prediction, crud.upload_knees(session, prediction))
