"""Typed dependencies: the app state, a database session and the authenticated user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from kneegrade_api.models import User
from kneegrade_api.security import InvalidToken, decode_access_token
from kneegrade_api.state import AppState

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login")


def get_state(request: Request) -> AppState:
    return request.app.state.kneegrade


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """One session per request, closed when the response is done."""
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def credentials_error(detail: str) -> HTTPException:
    """A 401 that tells the client to (re)authenticate with a bearer token."""
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def get_current_user(
    state: StateDep, session: SessionDep, token: Annotated[str, Depends(oauth2_scheme)]
) -> User:
    """The user a valid, unexpired token names; anything else is a 401."""
    try:
        user_id = decode_access_token(token, state.secret_key)
    except InvalidToken as err:
        raise credentials_error(f"invalid or expired token: {err}") from err
    user = session.get(User, user_id)
    if user is None:
        raise credentials_error("the token's user no longer exists")
    # End the read so the pooled connection is not held while an upload is being graded.
    session.commit()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def heavy_slot(state: StateDep, user: CurrentUser) -> Iterator[None]:
    """One of the caller's heavy-work slots for the request (``concurrency``); else a 429."""
    with state.slots.slot(user.id):
        yield


HeavySlot = Annotated[None, Depends(heavy_slot)]
