"""Requests that create something run once per key, whoever repeats them and however fast.

- The API: every POST, PUT, PATCH and DELETE under /api (but /api/auth/…) that carries an `Idempotency-Key`
  header runs once per (caller, method, path, key). A repeat with the same request gets the first answer again,
  with `Idempotent-Replayed: true`; the same key on another request (another body) is 422; a repeat while the
  first still runs waits for its answer (409 if it takes over WAIT_SECONDS). A first request that ends in a 5xx,
  401, 408 or 429, or in an exception, leaves nothing behind: a retry runs again. Keys are kept for a day.
- The UI: a page's form carries a one-time `form_token` (`new_form_token`, rendered next to the CSRF token); the
  first submit of a token runs, every other submit of it (a double click, a second tab) gets the first one's
  answer: the redirect to what it created. A submit that was refused (an error page) frees its token.

Both claim rows of `idempotency_keys` through domain.core.idempotency; the caller is the user of the verified
bearer token or session cookie. A request without a valid user passes through untouched (the app answers 401)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import deps
from api.asgi import read_body, replaying, whole
from domain.core import idempotency as keys
from domain.core import records

HEADER = b"idempotency-key"
REPLAYED = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT = ("/api/auth/",)  # logging in creates nothing a repeat must not
KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?")  # printable ASCII, no space at either end
MAX_PATH = 400
FORM_TOKEN = "form_token"
FORM_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,100}")
WAIT_SECONDS = 30.0  # a repeat waits this long for the first request's answer, then 409
POLL_SECONDS = 0.05
PRUNE_EVERY = 600.0  # seconds between two deletions of keys older than a day (per process)
FINAL_4XX_EXCEPT = frozenset({401, 408, 429})  # 4xx answers are final, but these: a retry should run again
NOT_KEPT = frozenset({"set-cookie", "date", "server", "content-length", "transfer-encoding", "connection",
                      "keep-alive"})


def applies(method: str, path: str) -> bool:
    """Does an Idempotency-Key on this request make it run once?"""
    return method.upper() in METHODS and path.startswith("/api/") and not path.startswith(EXEMPT)


def document(schema: dict[str, Any]) -> None:
    """Name the optional `Idempotency-Key` header on every operation it applies to, in the OpenAPI schema."""
    header = {"name": "Idempotency-Key", "in": "header", "required": False,
              "description": "run this request once per (caller, method, path, key); a repeat gets the first "
                             "answer with Idempotent-Replayed: true, another body under the key is 422",
              "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": KEY.pattern}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if applies(method, path):
                params = operation.setdefault("parameters", [])
                if not any(p.get("name", "").lower() == "idempotency-key" for p in params):
                    params.append(header)


def new_form_token() -> str:
    """A fresh one-time token for a form that creates something."""
    return secrets.token_urlsafe(18)


async def _caller(state: Any, headers: list[tuple[bytes, bytes]], cookie_only: bool = False) -> str | None:
    """The user of the request's bearer token, else of its session cookie, read by api.deps.session_user as every
    route reads its caller (None without a valid one): a repeat is answered before the app looks at the token, so
    a logged-out token must not be given what its user was answered."""
    if getattr(state, "platform", None) is None:
        return None  # still starting: the app answers 503
    request = Request({"type": "http", "headers": headers})
    bearer = None if cookie_only else await deps.oauth2(request)
    try:
        user = await deps.session_user(state.platform, state.settings.secret_key,
                                       bearer or request.cookies.get(deps.SESSION_COOKIE))
    except HTTPException:
        return None
    return user.username


def _kept(headers: list[tuple[bytes, bytes]]) -> list[list[str]]:
    # A form's flash message (api.routes.ui.pages.redirect) is kept: a double click shows the first submit's notice.
    return [[n.decode("latin-1"), v.decode("latin-1")] for n, v in headers
            if n.decode("latin-1").lower() not in NOT_KEPT or v.startswith(b"vl_flash=")]


def fingerprint(content_type: str, query: bytes, body: bytes) -> str:
    """sha256 of what makes two requests the same one: the media type, the query string and the body (JSON in a
    canonical form, a multipart body without its random boundary)."""
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media == "application/json":
        with contextlib.suppress(ValueError):
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    elif media == "multipart/form-data":
        boundary = re.search(r"boundary=\"?([^\";]+)", params)
        if boundary:
            body = body.replace(b"--" + boundary.group(1).encode("latin-1"), b"--")
    h = hashlib.sha256()
    for part in (media.encode(), query, body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


async def _prune(state: Any) -> None:
    now = time.monotonic()
    last = getattr(state, "idempotency_pruned", None)
    if last is not None and now - last < PRUNE_EVERY:
        return
    state.idempotency_pruned = now
    await state.platform.write(keys.prune)


async def once(state: Any, scope: keys.Scope, fingerprint_: str | None,
               run: Callable[[], Awaitable[tuple[keys.Answer, bool]]]) -> keys.Outcome:
    """Run `run` if this is the first request of `scope`; otherwise what the first one answered (`answer`),
    `mismatch`, or `busy` when it is still running after WAIT_SECONDS. `run` returns the answer and whether to
    keep it (else the claim is released, as it is when `run` raises)."""
    platform = state.platform
    await _prune(state)
    deadline = time.monotonic() + WAIT_SECONDS
    outcome: keys.Outcome = await platform.write(keys.claim, scope, fingerprint_)
    while outcome.kind == "pending":
        if time.monotonic() > deadline:
            return keys.Outcome("busy")
        await asyncio.sleep(POLL_SECONDS)
        seen = await platform.glance(keys.look, scope, fingerprint_)
        # gone: the first request failed and released it, so this one runs in its place
        outcome = seen if seen is not None else await platform.write(keys.claim, scope, fingerprint_)
    if outcome.kind != "claimed":
        return outcome
    # The numbers this request takes are kept under its key: run again after its API process died (ABANDONED) or
    # after a 5xx, it takes the same ones, so the process it may already have started is found, not started twice.
    request = records.keyed_request.set(records.KeyedRequest(keys.scope_hash(scope)))
    try:
        answer, keep = await run()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await platform.write(keys.release, outcome.id)
        raise
    finally:
        records.keyed_request.reset(request)
    await platform.write(keys.finish if keep else keys.release, outcome.id, *([answer] if keep else []))
    return keys.Outcome("claimed", outcome.id, answer)


def _answer(answer: keys.Answer) -> Response:
    """A stored answer, sent again."""
    response = Response(content=answer.body, status_code=answer.status_code)
    for name, value in answer.headers:
        response.headers.append(name, value)
    response.headers[REPLAYED] = "true"
    return response


def _refusal(kind: str) -> Response:
    if kind == "mismatch":
        return JSONResponse({"detail": "this Idempotency-Key was already used for a different request to this "
                                       "endpoint (another body); nothing was done: send a new key for a new request"},
                            status_code=422)
    return JSONResponse({"detail": "a request with this Idempotency-Key is still in progress; retry in a moment"},
                        status_code=409, headers={"Retry-After": "1"})


class Idempotency:
    """The ASGI middleware of the API's `Idempotency-Key` (see the module's note)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if not applies(scope.get("method", ""), path) or not any(n == HEADER for n, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        user = await _caller(state, scope["headers"])
        if user is None:
            await self.app(scope, receive, send)  # 401 (or 503 while starting): nothing runs to be repeated
            return
        sent = [v for n, v in scope["headers"] if n == HEADER]
        key = sent[0].decode("latin-1") if len(sent) == 1 else ""
        if not KEY.fullmatch(key):
            await JSONResponse({"detail": "Idempotency-Key: one header of 1 to 200 printable ASCII characters"},
                               status_code=422)(scope, receive, send)
            return
        if len(path) > MAX_PATH:
            await JSONResponse({"detail": f"a path over {MAX_PATH} characters takes no Idempotency-Key"},
                               status_code=422)(scope, receive, send)
            return

        body, tail = await read_body(receive)
        if tail is not None:  # the client left (or the body was over the limit)
            await self.app(scope, replaying([tail], receive), send)
            return
        content_type = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"content-type"), "")
        fp = fingerprint(content_type, scope.get("query_string", b""), body)

        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def run() -> tuple[keys.Answer, bool]:
            async def capture(message: Any) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    parts.append(message.get("body", b""))

            replay = replaying([whole(body)], receive)
            await self.app(scope, replay, capture)
            status = int(start.get("status", 500))
            keep = status < 500 and status not in FINAL_4XX_EXCEPT
            return keys.Answer(status, _kept(list(start.get("headers", []))), b"".join(parts)), keep

        outcome = await once(state, keys.Scope(user, scope["method"], path, key), fp, run)
        if outcome.kind == "claimed":  # this request ran: its own answer, as the app gave it
            await send({**start, "type": "http.response.start"})
            await send({"type": "http.response.body", "body": b"".join(parts), "more_body": False})
        elif outcome.kind == "answer" and outcome.answer is not None:
            await _answer(outcome.answer)(scope, receive, send)
        else:
            await _refusal(outcome.kind)(scope, receive, send)


async def form_token_of(request: Request) -> str:
    """The one-time token a submitted form carries ("" when it carries none)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return ""
    sent = (await request.form()).get(FORM_TOKEN)
    return sent if isinstance(sent, str) else ""


async def once_per_form(request: Request, handler: Callable[[], Awaitable[Response]]) -> Response:
    """Run a page's POST `handler` once per one-time form token: a second submit of the token gets the first
    one's answer (its redirect) with nothing done again. A form without a token runs as it is."""
    token = await form_token_of(request)
    state = request.app.state
    user = await _caller(state, list(request.scope["headers"]), cookie_only=True) if token else None
    if user is None or len(request.url.path) > MAX_PATH:
        return await handler()  # no token, or no session: the page's own checks answer
    if not FORM_TOKEN_SHAPE.fullmatch(token):
        raise HTTPException(422, "This form's one-time token is malformed, so nothing was done. Reload the page "
                                 "and send it again.")
    fresh: list[Response] = []

    async def run() -> tuple[keys.Answer, bool]:
        response = await handler()
        fresh.append(response)
        body = bytes(getattr(response, "body", b"") or b"")
        ok = response.status_code < 400  # an error page created nothing: the token may be sent again
        return keys.Answer(response.status_code, _kept(list(response.raw_headers)), body), ok

    outcome = await once(state, keys.Scope(user, "POST", request.url.path, f"form:{token}"), None, run)
    if outcome.kind == "claimed":
        return fresh[0]
    if outcome.kind == "answer" and outcome.answer is not None:
        return _answer(outcome.answer)
    raise HTTPException(409, "This form is still being sent from another click or tab. Wait a moment and look at "
                             "the page again before sending it once more.")
