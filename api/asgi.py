"""Two small pieces of ASGI plumbing the middlewares share: read a request's whole body, and hand the app the
messages already read before the ones still to come."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[Any]]


async def read_body(receive: Receive) -> tuple[bytes, Any | None]:
    """The request's whole body, and the message that ended it early (the client left, or a body limit cut it
    short) or None when it came whole."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def whole(body: bytes) -> dict[str, Any]:
    """The body as one request message."""
    return {"type": "http.request", "body": body, "more_body": False}


def replaying(first: list[Any], receive: Receive) -> Receive:
    """A receive that hands out `first` (the messages already read), then the real ones."""
    pending = list(first)

    async def replay() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
