"""The audit trail: who created, viewed, downloaded, deleted or restored which prediction, and
who logged in, when and from where. Each event is committed as it happens; admins read them
(``GET /api/admin/audit``)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kneegrade_api.models import ApiKey, AuditEvent, User

Action = Literal[
    "created",
    "viewed",
    "downloaded",
    "deleted",
    "restored",
    "purged",
    "login",
    "login_failed",
]
ACTIONS: tuple[str, ...] = get_args(Action)

SYSTEM = "system"
"""The name recorded for work no person asked for (``kneegrade-api purge``)."""


@dataclass(frozen=True)
class Caller:
    """Who a request acts as: the account, the API key it came with (none for a person's
    token), and the client's address."""

    user: User
    api_key: ApiKey | None = None
    client: str | None = None


def record(
    session: Session,
    caller: Caller,
    action: Action,
    prediction_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Add one event and commit it: the trail is written even if the answer then fails."""
    _add(
        session,
        user_id=caller.user.id,
        username=caller.user.username,
        action=action,
        prediction_id=prediction_id,
        detail=detail,
        api_key_id=caller.api_key.id if caller.api_key else None,
        client=caller.client,
    )


def record_failed_login(session: Session, username: str, client: str | None) -> None:
    """A wrong password or unknown username: kept under the name that was tried."""
    _add(
        session,
        user_id=None,
        username=username[:50],
        action="login_failed",
        client=client,
    )


def record_purge(session: Session, prediction_id: int) -> None:
    _add(
        session,
        user_id=None,
        username=SYSTEM,
        action="purged",
        prediction_id=prediction_id,
    )


def _add(session: Session, **fields: object) -> None:
    session.add(AuditEvent(**fields))
    session.commit()


def list_events(
    session: Session,
    limit: int,
    offset: int,
    username: str | None = None,
    prediction_id: int | None = None,
    action: str | None = None,
) -> tuple[Sequence[AuditEvent], int]:
    """A page of events, newest first, filtered by any of account, prediction and action."""
    conditions = []
    if username is not None:
        conditions.append(func.lower(AuditEvent.username) == username.lower())
    if prediction_id is not None:
        conditions.append(AuditEvent.prediction_id == prediction_id)
    if action is not None:
        conditions.append(AuditEvent.action == action)
    total = session.scalar(
        select(func.count()).select_from(AuditEvent).where(*conditions)
    )
    events = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return events, total or 0
