"""Tokens: OAuth2 password flow issuing HS256 JWTs (PyJWT); passwords hashed with argon2 (pwdlib)."""

from __future__ import annotations

import time
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


# Verified tokens: (token, secret) → (username, session id, expiry). A token's signature and claims never change,
# so one verification serves every request that token comes with until it expires (PyJWT's decode was 1.6% of
# the engine-floor bench process's py-spy samples); whether its session is still live is asked of the database
# every time.
_verified: dict[tuple[str, str], tuple[str, str, float]] = {}
MAX_VERIFIED = 10_000  # tokens remembered; beyond that the memory starts afresh


def claims(token: str, secret: str) -> tuple[str, str] | None:
    """(username, session id) of a well-signed, unexpired token; None for an expired, forged or malformed one,
    or one without a session id (`alg: none` and any algorithm but HS256 are refused by PyJWT's allow-list)."""
    key = (token, secret)
    if (seen := _verified.get(key)) is not None:
        if time.time() < seen[2]:  # as PyJWT: expired once now >= exp
            return seen[0], seen[1]
        _verified.pop(key, None)
        return None
    try:
        decoded = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "jti"]})
    except jwt.PyJWTError:
        return None
    sub, jti, exp = decoded.get("sub"), decoded.get("jti"), decoded.get("exp")
    if not isinstance(sub, str) or not isinstance(jti, str) or not jti:
        return None
    if isinstance(exp, int | float):
        if len(_verified) >= MAX_VERIFIED:
            _verified.clear()
        _verified[key] = (sub, jti, float(exp))
    return sub, jti
