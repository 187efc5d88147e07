"""Database reads and writes, always scoped to one user's own records."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneegrade_api.models import Prediction, User
from kneegrade_api.schemas import UserCreate
from kneegrade_api.security import hash_password, verify_password


class UsernameTaken(ValueError):
    """Another account already has this username."""


def get_user_by_username(session: Session, username: str) -> User | None:
    """Usernames are case-insensitive (accounts made before that may hold capitals)."""
    return session.scalar(
        select(User).where(func.lower(User.username) == username.lower())
    )


def create_user(session: Session, data: UserCreate) -> User:
    """A new clinician account; a taken username raises UsernameTaken, also under a race."""
    if get_user_by_username(session, data.username) is not None:
        raise UsernameTaken(data.username)
    user = User(
        username=data.username,
        name=data.name,
        role="clinician",
        password_hash=hash_password(data.password),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise UsernameTaken(data.username) from err
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user whose password this is, else None (taking as long for unknown usernames)."""
    user = get_user_by_username(session, username)
    if not verify_password(password, user.password_hash if user else None):
        return None
    return user


def add_prediction(session: Session, prediction: Prediction) -> Prediction:
    session.add(prediction)
    session.commit()
    return prediction


def get_by_idempotency_key(
    session: Session, user_id: int, key: str
) -> Prediction | None:
    return session.scalar(
        select(Prediction).where(
            Prediction.user_id == user_id, Prediction.idempotency_key == key
        )
    )


def list_predictions(
    session: Session, user_id: int, limit: int, offset: int
) -> tuple[Sequence[Prediction], int]:
    """One page of the user's predictions, newest first, and how many there are in all."""
    mine = Prediction.user_id == user_id
    total = session.scalar(select(func.count()).select_from(Prediction).where(mine))
    items = session.scalars(
        select(Prediction)
        .where(mine)
        .order_by(Prediction.created_at.desc(), Prediction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return items, total or 0


def get_prediction(
    session: Session, user_id: int, prediction_id: int
) -> Prediction | None:
    """The prediction if it exists and is the user's own; others' look just like missing ones."""
    return session.scalar(
        select(Prediction).where(
            Prediction.id == prediction_id, Prediction.user_id == user_id
        )
    )


def delete_prediction(session: Session, prediction: Prediction) -> None:
    session.delete(prediction)
    session.commit()


def prediction_summaries(
    session: Session, user_id: int
) -> Sequence[Row[tuple[int, str, float, datetime]]]:
    """Grade, model, confidence and time of every prediction of the user, for the dashboard."""
    return session.execute(
        select(
            Prediction.grade,
            Prediction.model_id,
            Prediction.confidence,
            Prediction.created_at,
        ).where(Prediction.user_id == user_id)
    ).all()
