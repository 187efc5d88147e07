"""Accounts: register, log in (OAuth2 password flow), and who am I."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from kneegrade_api import audit, crud
from kneegrade_api.audit import Caller
from kneegrade_api.deps import (
    CurrentUser,
    SessionDep,
    StateDep,
    client_address,
    credentials_error,
)
from kneegrade_api.errors import UNAUTHORIZED, error_responses
from kneegrade_api.schemas import Token, UserCreate, UserOut
from kneegrade_api.security import create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    description="A new clinician account. The password is stored only as an argon2 hash."
    " Where the operator closed self-registration (`KNEEGRADE_REGISTRATION_OPEN=false`), an"
    " administrator creates accounts (`POST /api/admin/users`).",
    responses=error_responses(
        {
            403: "Self-registration is closed on this server",
            409: "The username is taken",
            422: "Invalid username, password or name",
            429: "Too many new accounts from this address (Retry-After says when)",
        }
    ),
)
def register(
    data: UserCreate, session: SessionDep, state: StateDep, request: Request
) -> UserOut:
    if not state.settings.registration_open:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="self-registration is closed here; ask an administrator for an account",
        )
    state.throttle.count("register", client_address(request))
    try:
        user = crud.create_user(session, data)
    except crud.UsernameTaken as err:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"username {data.username!r} is already taken",
        ) from err
    return UserOut.model_validate(user)


@router.post(
    "/login",
    summary="Log in for an access token",
    description="OAuth2 password flow: form fields `username` and `password`; "
    "send the token back as `Authorization: Bearer <token>`.",
    responses=error_responses(
        {
            401: "Wrong username or password",
            422: "Missing form fields",
            429: "Too many attempts from this address, or too many wrong passwords for"
            " this account (Retry-After says when to try again)",
        }
    ),
)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    state: StateDep,
    request: Request,
) -> Token:
    client = client_address(request)
    state.throttle.count("login", client)
    state.throttle.check_unlocked(form.username)
    user = crud.authenticate(session, form.username, form.password)
    if user is None:
        state.throttle.failed(form.username)
        audit.record_failed_login(session, form.username, client)
        raise credentials_error("incorrect username or password")
    audit.record(session, Caller(user, None, client), "login")
    minutes = state.settings.access_token_minutes
    return Token(
        access_token=create_access_token(user.id, state.secret_key, minutes),
        expires_in=minutes * 60,
    )


@router.get(
    "/me",
    summary="The current user",
    responses=error_responses(UNAUTHORIZED),
)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
