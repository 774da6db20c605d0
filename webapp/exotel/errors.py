"""Typed outcomes of an Exotel request that did not give a call."""

from __future__ import annotations

from typing import Any


class ExotelError(Exception):
    """Base class: something other than an accepted request."""

    #: Whether the call may exist at Exotel despite the error (reconciliation settles it).
    outcome_unknown = False

    def __init__(self, message: str, *, http_status: int | None = None, code: str | None = None, body: str | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        # The start of Exotel's answer, for logs and the error column; never credentials.
        self.body = body[:500] if body else body


class ExotelRejected(ExotelError):
    """Exotel answered 4xx: the request was refused and no call was placed."""


class ExotelRateLimited(ExotelRejected):
    """Exotel answered 429 (and kept answering it): nothing was placed."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ExotelUnreachable(ExotelError):
    """No connection could be made: the request never left, so nothing was placed."""


class ExotelUncertain(ExotelError):
    """5xx, a reset after sending, or an unreadable answer: the call may exist."""

    outcome_unknown = True


class ExotelTimeout(ExotelUncertain):
    """No answer within the read timeout: the call may exist."""


class NotSent(ExotelError):
    """This deployment chose not to send the request (its budget, or the work it was for, said no): nothing left."""


class BudgetSpent(NotSent):
    """This deployment's own budget of Exotel requests is spent: nothing was sent."""

    def __init__(self, message: str, *, retry_after: float, http_status: int | None = None):
        super().__init__(message, http_status=http_status, code="budget")
        self.retry_after = retry_after
