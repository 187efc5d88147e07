"""API keys for machine clients (a hospital system, a PACS router): made by an admin, shown
once, kept only as a SHA-256 of the secret, limited to scopes, revocable.

A key reads ``kg_<prefix>_<secret>``: the prefix finds the row, the secret (256 random bits,
so a plain hash is enough, unlike a password) proves it. It goes where a token goes:
``Authorization: Bearer kg_...``.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from kneegrade_api.models import ApiKey, User, utcnow

Scope = Literal["read", "predict", "delete"]
SCOPES: tuple[str, ...] = get_args(Scope)
METHOD_SCOPES: dict[str, Scope] = {
    "GET": "read",
    "HEAD": "read",
    "POST": "predict",
    "DELETE": "delete",
}
"""The scope a key needs for a request, by its method: the API's only writes are grading
(POST) and deleting, so the method says which kind of access a request is."""
MARK = "kg_"
LAST_USED_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key, not on every request."""


class InvalidApiKey(Exception):
    """Unknown, malformed, wrong or revoked."""


def is_api_key(token: str) -> bool:
    return token.startswith(MARK)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session, owner: User, name: str, scopes: Sequence[Scope], creator: User
) -> tuple[ApiKey, str]:
    """A new key acting as ``owner``, and its full text: the only time it is ever seen."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        user_id=owner.id,
        name=name,
        prefix=prefix,
        secret_hash=_digest(secret),
        scopes=sorted(set(scopes), key=SCOPES.index),
        created_by=creator.id,
    )
    session.add(key)
    session.commit()
    return key, f"{MARK}{prefix}_{secret}"


def verify_key(session: Session, text: str) -> ApiKey:
    """The live key ``text`` is, with its user loaded; anything else raises InvalidApiKey."""
    prefix, _, secret = text.removeprefix(MARK).partition("_")
    key = (
        session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if secret
        else None
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
        raise InvalidApiKey("unknown API key")
    if key.revoked_at is not None:
        raise InvalidApiKey("the API key was revoked")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        key.last_used_at = now
        session.commit()
    return key


def list_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.id)).all()


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    """Revoke the key (kept, for the audit trail); None when there is no such key."""
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
        session.commit()
    return key
