"""Database reads and writes, always scoped to one user's own records."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kneegrade_api.models import Prediction, User, utcnow
from kneegrade_api.schemas import UserCreate
from kneegrade_api.security import hash_password, verify_password

LIVE = Prediction.deleted_at.is_(None)
"""Predictions their owner has not deleted: the only ones any user-facing read returns."""


class UsernameTaken(ValueError):
    """Another account already has this username."""


def get_user_by_username(session: Session, username: str) -> User | None:
    """Usernames are case-insensitive (accounts made before that may hold capitals)."""
    return session.scalar(
        select(User).where(func.lower(User.username) == username.lower())
    )


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id)).all()


def create_user(session: Session, data: UserCreate, role: str = "clinician") -> User:
    """A new account; a taken username raises UsernameTaken, also under a race."""
    if get_user_by_username(session, data.username) is not None:
        raise UsernameTaken(data.username)
    user = User(
        username=data.username,
        name=data.name,
        role=role,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise UsernameTaken(data.username) from err
    return user


def ensure_admin(session: Session, username: str, password: str) -> User:
    """The account ``username`` as an admin: made with ``password`` (policy checked by
    UserCreate) when it does not exist, promoted when it does (its password kept)."""
    user = get_user_by_username(session, username)
    if user is None:
        data = UserCreate(username=username, name="Administrator", password=password)
        return create_user(session, data, role="admin")
    user.role = "admin"
    session.commit()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user whose password this is, else None (taking as long for unknown usernames)."""
    user = get_user_by_username(session, username)
    if not verify_password(password, user.password_hash if user else None):
        return None
    return user


def add_predictions(
    session: Session, predictions: list[Prediction]
) -> list[Prediction]:
    """The knees of one upload, committed together."""
    session.add_all(predictions)
    session.commit()
    return predictions


def upload_knees(session: Session, prediction: Prediction) -> list[Prediction]:
    """Every knee graded from the same upload as ``prediction`` (itself included), left to
    right on the image; older predictions stand alone."""
    if prediction.upload_id is None:
        return [prediction]
    return list(
        session.scalars(
            select(Prediction)
            .where(
                Prediction.user_id == prediction.user_id,
                Prediction.upload_id == prediction.upload_id,
                LIVE,
            )
            .order_by(Prediction.id)
        )
    )


def knees_by_upload(
    session: Session, predictions: Sequence[Prediction]
) -> dict[str, list[Prediction]]:
    """The knees of every upload among ``predictions``, by upload id, in one query."""
    ids = {p.upload_id for p in predictions if p.upload_id is not None}
    if not ids:
        return {}
    users = {p.user_id for p in predictions}
    found: dict[str, list[Prediction]] = {}
    rows = session.scalars(
        select(Prediction)
        .where(Prediction.upload_id.in_(ids), Prediction.user_id.in_(users), LIVE)
        .order_by(Prediction.id)
    )
    for row in rows:
        found.setdefault(row.upload_id, []).append(row)
    return found


def image_shared(session: Session, prediction: Prediction) -> bool:
    """Whether another knee of the same upload still shows this prediction's image."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Prediction)
            .where(
                Prediction.image_path == prediction.image_path,
                Prediction.id != prediction.id,
            )
        )
        or 0
    ) > 0


def get_by_idempotency_key(
    session: Session, user_id: int, key: str
) -> Prediction | None:
    """The upload made with this key, deleted or not (the key stays used)."""
    return session.scalar(
        select(Prediction).where(
            Prediction.user_id == user_id, Prediction.idempotency_key == key
        )
    )


def list_predictions(
    session: Session, user_id: int, limit: int, offset: int
) -> tuple[Sequence[Prediction], int]:
    """One page of the user's predictions, newest first, and how many there are in all."""
    mine = (Prediction.user_id == user_id) & LIVE
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
    """The prediction if it exists, is the user's own and is not deleted; others' and deleted
    ones look just like missing ones."""
    return session.scalar(
        select(Prediction).where(
            Prediction.id == prediction_id, Prediction.user_id == user_id, LIVE
        )
    )


def soft_delete(session: Session, prediction: Prediction) -> None:
    """Hide the prediction from its owner; the row and files stay for the audit trail."""
    prediction.deleted_at = utcnow()
    session.commit()


def get_deleted(session: Session, prediction_id: int) -> Prediction | None:
    """Any user's prediction, if it is deleted (an admin's restore)."""
    return session.scalar(
        select(Prediction).where(
            Prediction.id == prediction_id, Prediction.deleted_at.is_not(None)
        )
    )


def restore(session: Session, prediction: Prediction) -> None:
    prediction.deleted_at = None
    session.commit()


def deleted_before(session: Session, cutoff: datetime) -> Sequence[Prediction]:
    """Predictions deleted before ``cutoff``: what ``kneegrade-api purge`` removes."""
    return session.scalars(
        select(Prediction).where(Prediction.deleted_at < cutoff).order_by(Prediction.id)
    ).all()


def purge(session: Session, prediction: Prediction) -> bool:
    """Remove the row for good; whether its image is still another row's (keep the file)."""
    shared = image_shared(session, prediction)
    session.delete(prediction)
    session.commit()
    return shared


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
        ).where(Prediction.user_id == user_id, LIVE)
    ).all()
