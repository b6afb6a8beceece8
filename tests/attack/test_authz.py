"""Function-level authorization (every route, read from the app itself), forged and stale tokens, and login
throttling."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import update

from api.ratelimit import LOGIN_FAILURES_PER_IP, LOGIN_FAILURES_PER_USER, LoginLimiter, SlidingWindow
from domain.org.tables import User
from tests.attack.conftest import DEMO_ROLES, is_page, needs_login, required_roles, route_table

pytestmark = pytest.mark.e2e

# Routes anyone may call: health, login, the schema and its viewers, static files, and the login pages.
PUBLIC = {("GET", "/healthz"), ("POST", "/api/auth/token"), ("GET", "/openapi.json"), ("GET", "/docs"),
          ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"), ("GET", "/"), ("GET", "/login"),
          ("POST", "/login"), ("GET", "/metrics")}  # /metrics: Prometheus scrapes it without a login
PUBLIC_MOUNTS = {"/static"}

ROUTES = route_table()


def _concrete(path: str) -> str:
    """A path with a value in each parameter ({id:path} included)."""
    samples = {"customer_id": "1", "number:request_number": "FR-1"}  # the rest take any word
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: samples.get(m.group(0)[1:-1], samples.get(m.group(1), "X-1")),
                  path)


def _endpoints() -> list[tuple[str, str, object]]:
    out = []
    for r in ROUTES:
        path = getattr(r, "path", None)
        methods = sorted((getattr(r, "methods", None) or set()) - {"HEAD"})
        if path is None or not methods:  # a mount
            continue
        out.extend((m, path, r) for m in methods)
    return out


ENDPOINTS = _endpoints()
ROLE_ROUTES = [(m, p, roles) for m, p, r in ENDPOINTS if (roles := required_roles(r))]


def test_the_route_table_is_complete():
    """Every route is either public by the allow-list, guarded by the API's login, or a page behind the
    session login: a new unguarded route fails here until it is guarded or allow-listed."""
    mounts = {getattr(r, "path", None) for r in ROUTES if not getattr(r, "methods", None)}
    assert mounts <= PUBLIC_MOUNTS | {None}, mounts
    unguarded = [(m, p) for m, p, r in ENDPOINTS
                 if (m, p) not in PUBLIC and not needs_login(r) and not is_page(r)]
    assert unguarded == []
    assert len(ENDPOINTS) > 100 and len(ROLE_ROUTES) > 25  # the table was really read from the app


async def test_every_route_without_a_token_is_refused(stack):
    """401 from every API route, the login form from every page; built from the route table."""
    wrong = []
    for method, path, route in ENDPOINTS:
        if (method, path) in PUBLIC:
            continue
        r = await stack.http.request(method, _concrete(path), json={} if method != "GET" else None)
        if is_page(route):  # a page: to the login form (a GET remembers where it was going), nothing done
            if r.status_code != 303 or not r.headers["location"].startswith("/login"):
                wrong.append((method, path, r.status_code))
        elif r.status_code != 401 or r.headers.get("www-authenticate") != "Bearer":
            wrong.append((method, path, r.status_code, r.text[:100]))
    assert wrong == []


async def test_public_routes_answer_without_a_token(stack):
    for method, path in sorted(PUBLIC):
        if method == "GET":
            r = await stack.http.get(path)
            assert r.status_code in (200, 303), (path, r.status_code)


async def test_a_role_restricted_route_refuses_every_user_without_the_role(stack):
    """Each route with require(action): every demo user lacking the action's roles gets 403 (nothing done), and one
    who holds a role gets past the check."""
    wrong = []
    for method, path, roles in ROLE_ROUTES:
        for who, held in DEMO_ROLES.items():
            r = await stack.as_(who, method, _concrete(path), json={})
            if held & roles:
                if r.status_code in (401, 403):
                    wrong.append((who, method, path, r.status_code, "holds the role"))
            elif r.status_code != 403 or not isinstance(r.json().get("detail"), str):
                wrong.append((who, method, path, r.status_code, r.text[:100]))
    assert wrong == []


# --- tokens -----------------------------------------------------------------------------------------------

def _secret(stack) -> str:
    return str(stack.settings.secret_key)


def _claims(sub: str = "admin", minutes: int = 10) -> dict[str, object]:
    now = datetime.now(UTC)
    return {"sub": sub, "iat": now, "exp": now + timedelta(minutes=minutes), "jti": "t"}


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _status(stack, token: str) -> int:
    return (await stack.http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code


async def test_forged_stale_and_garbage_tokens_get_401(stack):
    secret = _secret(stack)
    good = (await stack.login("admin"))["Authorization"].split()[1]
    assert await _status(stack, good) == 200  # the control: a token the app issued works
    header_none = _b64(b'{"alg":"none","typ":"JWT"}')
    body = _b64(f'{{"sub":"admin","exp":{int(time.time()) + 600}}}'.encode())
    bad = {
        "expired": jwt.encode(_claims(minutes=-1), secret, algorithm="HS256"),
        # signed with the right key, but naming no session the app opened (a leaked key alone does not do)
        "right key, no session": jwt.encode(_claims(), secret, algorithm="HS256"),
        "right key, no session id": jwt.encode({k: v for k, v in _claims().items() if k != "jti"}, secret,
                                              algorithm="HS256"),
        "wrong signature": jwt.encode(_claims(), "another-secret-of-enough-length", algorithm="HS256"),
        "alg none": f"{header_none}.{body}.",
        "alg none, signature kept": f"{header_none}.{body}.{good.split('.')[2]}",
        "HS512 with the right key": jwt.encode(_claims(), secret, algorithm="HS512"),
        "tampered subject": ".".join([good.split(".")[0], _b64(b'{"sub":"heidi","exp":9999999999}'),
                                      good.split(".")[2]]),
        "no expiry": jwt.encode({"sub": "admin"}, secret, algorithm="HS256"),
        "no subject": jwt.encode({"exp": int(time.time()) + 600}, secret, algorithm="HS256"),
        "subject not a string": jwt.encode({"sub": 42, "exp": int(time.time()) + 600}, secret, algorithm="HS256"),
        "unknown user": jwt.encode(_claims("mallory"), secret, algorithm="HS256"),
        "garbage": "not.a.token",
        "empty parts": "..",
        "binary": "\x00\x01",
        "huge": "a" * 20_000,
    }
    for name, token in bad.items():
        try:
            code = await _status(stack, token)
        except Exception as e:
            assert name == "binary", (name, e)
            continue
        assert code in (401, 413, 431) if name == "huge" else code == 401, (name, code)
    # the session cookie is checked the same way
    for token in (bad["expired"], bad["alg none"], bad["wrong signature"], bad["right key, no session"]):
        r = await stack.http.get("/api/auth/me", cookies={"vl_session": token})
        assert r.status_code == 401
    assert (await stack.http.get("/api/auth/me", headers={"Authorization": "Basic YWRtaW46ZGVtbw=="})
            ).status_code == 401


async def test_a_deactivated_users_token_stops_working(stack):
    headers = await stack.login("erin")
    token = headers["Authorization"].split()[1]
    assert await _status(stack, token) == 200
    # deactivated behind the services' back (no session revoked): every request checks the user is active
    with stack.db.write() as s:
        s.execute(update(User).where(User.username == "erin").values(active=False))
    assert await _status(stack, token) == 401  # on its very next request
    r = await stack.http.post("/api/auth/token", data={"username": "erin", "password": "demo"})
    assert r.status_code == 401  # and she cannot log in again


# --- login throttling ---------------------------------------------------------------------------------------

async def test_failed_logins_are_throttled_per_user_then_per_ip(stack):
    for _ in range(LOGIN_FAILURES_PER_USER):
        r = await stack.http.post("/api/auth/token", data={"username": "erin", "password": "guess"})
        assert r.status_code == 401
    r = await stack.http.post("/api/auth/token", data={"username": "erin", "password": "demo"})
    assert r.status_code == 429, r.text  # refused even with the right password, before it is checked
    assert 0 < int(r.headers["retry-after"]) <= 300 and "try again" in r.json()["detail"]
    r = await stack.http.post("/api/auth/token", data={"username": " ERIN", "password": "demo"})
    assert r.status_code == 429  # the same account under another spelling
    # another user from the same address is not locked out by erin's failures
    assert (await stack.http.post("/api/auth/token", data={"username": "frank", "password": "demo"})
            ).status_code == 200
    # one address guessing many accounts: stopped once it has LOGIN_FAILURES_PER_IP failures
    failures = LOGIN_FAILURES_PER_USER
    users = iter(f"nobody{i}" for i in range(1000))
    while failures < LOGIN_FAILURES_PER_IP:
        r = await stack.http.post("/api/auth/token", data={"username": next(users), "password": "x"})
        assert r.status_code == 401
        failures += 1
    r = await stack.http.post("/api/auth/token", data={"username": "grace", "password": "demo"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_successful_logins_are_never_throttled(stack):
    for _ in range(3 * LOGIN_FAILURES_PER_USER):
        r = await stack.http.post("/api/auth/token", data={"username": "alice", "password": "demo"})
        assert r.status_code == 200
    # a success wipes the user's earlier failures
    for _ in range(LOGIN_FAILURES_PER_USER - 1):
        await stack.http.post("/api/auth/token", data={"username": "bob", "password": "nope"})
    assert (await stack.http.post("/api/auth/token", data={"username": "bob", "password": "demo"})
            ).status_code == 200
    for _ in range(LOGIN_FAILURES_PER_USER - 1):
        assert (await stack.http.post("/api/auth/token", data={"username": "bob", "password": "nope"})
                ).status_code == 401


async def test_the_login_page_is_throttled_too(stack):
    form = await stack.http.get("/login")
    csrf = form.cookies.get("vl_login_csrf") or stack.http.cookies.get("vl_login_csrf")
    assert csrf
    data = {"username": "carol", "password": "wrong", "csrf": csrf}
    for _ in range(LOGIN_FAILURES_PER_USER):
        r = await stack.http.post("/login", data=data, cookies={"vl_login_csrf": csrf})
        assert r.status_code == 401
    r = await stack.http.post("/login", data={**data, "password": "demo"}, cookies={"vl_login_csrf": csrf})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Too many failed logins" in r.text and "vl_session" not in r.cookies
    # the API shares the count: carol is throttled there as well
    assert (await stack.http.post("/api/auth/token", data={"username": "carol", "password": "demo"})
            ).status_code == 429


def test_the_window_slides():
    now = [1000.0]
    w = SlidingWindow(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert w.retry_after("k") == 0
        w.hit("k")
        now[0] += 10
    assert w.retry_after("k") == pytest.approx(30)  # the first failure (t=1000) leaves at t=1060
    now[0] = 1060.5
    assert w.retry_after("k") == 0  # one failure has left the window
    w.hit("k")
    assert w.retry_after("k") > 0
    now[0] += 61
    assert w.retry_after("k") == 0 and "k" not in w._hits  # expired keys are dropped
    limiter = LoginLimiter(per_user=2, per_ip=100, window=60, clock=lambda: now[0])
    limiter.failed("Dave", "10.0.0.1")
    limiter.failed("dave ", "10.0.0.2")
    assert limiter.retry_after("DAVE", "10.0.0.3") > 0
    limiter.succeeded("dave")
    assert limiter.retry_after("dave", "10.0.0.3") == 0
