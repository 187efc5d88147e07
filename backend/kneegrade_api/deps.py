"""Typed dependencies: the app state, a database session, the authenticated caller (a person's
token or an API key) and the admin check."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from kneegrade_api.api_keys import METHOD_SCOPES, InvalidApiKey, is_api_key, verify_key
from kneegrade_api.audit import Caller
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


def client_address(request: Request) -> str:
    """The client's address, for throttling and the audit trail."""
    return request.client.host if request.client else "unknown"


def get_caller(
    state: StateDep,
    session: SessionDep,
    request: Request,
    token: Annotated[str, Depends(oauth2_scheme)],
) -> Caller:
    """Who the bearer credential names: a person's valid, unexpired token, or a live API key
    whose scopes cover the request's method. Anything else is a 401, a missing scope a 403."""
    if is_api_key(token):
        caller = _key_caller(session, request, token)
    else:
        caller = Caller(
            _token_user(state, session, token), None, client_address(request)
        )
    # End the read so the pooled connection is not held while an upload is being graded.
    session.commit()
    return caller


def _token_user(state: AppState, session: Session, token: str) -> User:
    try:
        user_id = decode_access_token(token, state.secret_key)
    except InvalidToken as err:
        raise credentials_error(f"invalid or expired token: {err}") from err
    user = session.get(User, user_id)
    if user is None:
        raise credentials_error("the token's user no longer exists")
    return user


def _key_caller(session: Session, request: Request, token: str) -> Caller:
    try:
        key = verify_key(session, token)
    except InvalidApiKey as err:
        raise credentials_error(str(err)) from err
    needed = METHOD_SCOPES.get(request.method)
    if needed not in key.scopes:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"this API key lacks the {needed!r} scope"
            f" (it has: {', '.join(key.scopes) or 'none'})",
        )
    return Caller(key.user, key, client_address(request))


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_current_user(caller: CallerDep) -> User:
    """The account the request acts as."""
    return caller.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_admin(caller: CallerDep) -> Caller:
    """An admin signed in in person: API keys never administer, whatever account they act as."""
    if caller.api_key is not None or caller.user.role != "admin":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="only an administrator, signed in with a password, may do this",
        )
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]


def heavy_slot(state: StateDep, user: CurrentUser) -> Iterator[None]:
    """One of the caller's heavy-work slots for the request (``concurrency``); else a 429."""
    with state.slots.slot(user.id):
        yield


HeavySlot = Annotated[None, Depends(heavy_slot)]
