"""Tokens: OAuth2 password flow issuing HS256 JWTs (PyJWT); passwords hashed with argon2 (pwdlib)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    full_name: str = ""

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


def issue(username: str, secret: str, minutes: int) -> str:
    now = datetime.now(UTC)
    claims = {"sub": username, "iat": now, "exp": now + timedelta(minutes=minutes), "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def subject(token: str, secret: str) -> str | None:
    """The username a valid token names; None for an expired, forged or malformed one
    (`alg: none` and any algorithm but HS256 are refused by PyJWT's allow-list)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None
