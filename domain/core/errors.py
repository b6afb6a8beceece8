"""One error type per kind of refusal; the API maps each to an HTTP status in one place."""


class DomainError(Exception):
    """A business rule refused the request. `str(err)` is a sentence for the user."""

    kind = "invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Invalid(DomainError):
    kind = "invalid"  # 422


class NotFound(DomainError):
    kind = "not_found"  # 404


class Conflict(DomainError):
    kind = "conflict"  # 409


class Forbidden(DomainError):
    kind = "forbidden"  # 403


class Unavailable(DomainError):
    kind = "unavailable"  # 503: a part of the platform is not answering


class TooLarge(DomainError):
    kind = "too_large"  # 413: an upload over its size limit


class Unsupported(DomainError):
    kind = "unsupported"  # 415: content of a type not accepted


ERROR_TYPES: dict[str, type[DomainError]] = {
    cls.kind: cls for cls in (Invalid, NotFound, Conflict, Forbidden, Unavailable, TooLarge, Unsupported)
}


def from_kind(kind: str, message: str) -> DomainError:
    return ERROR_TYPES.get(kind, Invalid)(message)
