"""Tokens: OAuth2 password flow issuing HS256 JWTs (PyJWT); passwords hashed with argon2 (pwdlib)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import jwt

from domain import permissions

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    full_name: str = ""
    session: str = ""  # the jti of the token or cookie the request came with (what logout ends)
    locale: str | None = None  # the UI language the user chose (None: the browser's)
    time_zone: str = "UTC"  # the user's, else the company's

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def may(self, action: permissions.Action) -> bool:
        """Does the caller hold the action (domain.permissions)?"""
        return permissions.may(self.roles, action)


def sign(username: str, jti: str, issued_at: datetime, expires_at: datetime, secret: str) -> str:
    """The token of session `jti` (a row of auth_sessions: the token is honoured only while that row is live)."""
    payload = {"sub": username, "iat": issued_at, "exp": expires_at, "jti": jti}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def claims(token: str, secret: str) -> tuple[str, str] | None:
    """(username, session id) of a well-signed, unexpired token; None for an expired, forged or malformed one,
    or one without a session id (`alg: none` and any algorithm but HS256 are refused by PyJWT's allow-list)."""
    try:
        decoded = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "jti"]})
    except jwt.PyJWTError:
        return None
    sub, jti = decoded.get("sub"), decoded.get("jti")
    if not isinstance(sub, str) or not isinstance(jti, str) or not jti:
        return None
    return sub, jti
