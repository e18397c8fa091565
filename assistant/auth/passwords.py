"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106's second choice)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.errors import AssistantError

MIN_LENGTH = 8
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a login takes as long either way and
# its timing does not tell which names exist.
_DUMMY = _hasher.hash("not-a-password-of-anyone")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise AssistantError(f"the password is too short: at least {MIN_LENGTH} characters")
    if password != password.strip():
        raise AssistantError("the password starts or ends with a space (a paste mistake?)")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
