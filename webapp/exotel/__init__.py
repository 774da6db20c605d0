"""Talking to Exotel: the HTTP client, its errors, and callback payload parsing."""

from .client import BULK, INTERACTIVE, CallFilter, CallInfo, ConnectRequest, ExotelClient, Permit, Priority
from .errors import (
    BudgetSpent,
    ExotelError,
    ExotelRateLimited,
    ExotelRejected,
    ExotelTimeout,
    ExotelUncertain,
    ExotelUnreachable,
    NotSent,
)

__all__ = [
    "BULK",
    "INTERACTIVE",
    "BudgetSpent",
    "CallFilter",
    "Permit",
    "Priority",
    "CallInfo",
    "ConnectRequest",
    "ExotelClient",
    "ExotelError",
    "ExotelRateLimited",
    "ExotelRejected",
    "ExotelTimeout",
    "ExotelUncertain",
    "ExotelUnreachable",
    "NotSent",
]
