"""The one error tree of postwave.

Every error raised on purpose by postwave is a :class:`PostwaveError`. Each carries
structured fields so that ``api/status.py`` (the only place that knows about gRPC)
can map it to a precise status with details. Subclasses mix in the natural builtin
so that callers outside postwave can catch them as usual.
"""

from __future__ import annotations


class PostwaveError(Exception):
    """Base of every postwave error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgumentError(PostwaveError, ValueError):
    """Input that can never succeed as given; ``field`` is the path of the bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.description = message


class TemplateError(InvalidArgumentError):
    """A template that does not compile, escapes the sandbox, or misses a variable."""


class AuthenticationError(PostwaveError, PermissionError):
    """No API key, or one that is unknown or revoked."""


class PermissionDeniedError(PostwaveError, PermissionError):
    """A valid key that lacks the scope the call needs."""


class NotFoundError(PostwaveError, LookupError):
    """The named object does not exist for this tenant (or belongs to another)."""


class AlreadyExistsError(PostwaveError):
    """An idempotency key reused with a different body, or a duplicate name."""


class RateLimitedError(PostwaveError):
    """A tenant's rate or daily quota is used up; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailableError(PostwaveError, ConnectionError):
    """The store or the queue cannot be reached; the request was not accepted."""


class DeliveryError(PostwaveError):
    """Delivery to a receiving server did not happen (DNS, connect, protocol)."""

    def __init__(self, message: str, *, temporary: bool = True) -> None:
        super().__init__(message)
        self.temporary = temporary


# --- deliverability (owner: deliverability helper) ---


class FailedPreconditionError(PostwaveError):
    """The request is valid but the system is not in a state to do it (e.g. an unverified
    sending domain); ``field`` names the request field it concerns, ``""`` if none."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class MasterKeyError(PostwaveError):
    """The master key that encrypts DKIM private keys is missing or wrong."""
