"""Passwords (argon2), access tokens (JWT, HS256) and the secret key that signs them."""

import logging
import os
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from jose import JWTError, jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn import zxcvbn

ALGORITHM = "HS256"
MAX_USER_ID = 2**31 - 1
"""Ids beyond the databases' INTEGER range name no user (and must not reach a query)."""

log = logging.getLogger(__name__)

_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so login time does not reveal who exists."""
    return _hasher.hash(secrets.token_urlsafe(16))


class InvalidToken(Exception):
    """A token that is malformed, forged, expired or names no user id."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash (unknown user) spend the same time, then say no."""
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False
    return _hasher.verify(password, password_hash)


def create_access_token(
    user_id: int, key: str, minutes: int, now: datetime | None = None
) -> str:
    """A bearer token for ``user_id`` that expires ``minutes`` after ``now``."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_access_token(token: str, key: str) -> int:
    """The user id a valid token names; anything else raises InvalidToken."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require_exp": True}
        )
        user_id = int(claims["sub"])
    except (JWTError, KeyError, TypeError, ValueError) as err:
        raise InvalidToken(str(err)) from err
    if not 1 <= user_id <= MAX_USER_ID:
        raise InvalidToken(f"no user can have id {user_id}")
    return user_id


def load_or_create_secret_key(path: Path) -> str:
    """The key kept in ``path``; the first start writes a fresh random one, owner-only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by others: chmod 600 it", path)
        key = path.read_text().strip()
        if not key:
            raise RuntimeError(f"secret key file {path} is empty") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


MIN_PASSWORD_SCORE = 2
"""zxcvbn's 0-4 guessability score a new password needs: 2 refuses common passwords, keyboard
walks, repeats and the username or name dressed up, and takes "correct horse"."""
SCORED_CHARACTERS = 64
"""zxcvbn's cost grows with length; what follows the first 64 characters only adds strength."""


def weak_password_reason(password: str, *user_inputs: str) -> str | None:
    """Why ``password`` is too easy to guess (zxcvbn, with the account's own words), or None."""
    result = zxcvbn(password[:SCORED_CHARACTERS], user_inputs=list(user_inputs))
    if result["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = result["feedback"]
    advice = " ".join([feedback["warning"], *feedback["suggestions"]]).strip()
    return f"the password is too easy to guess. {advice}".strip()
