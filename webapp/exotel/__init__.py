"""Talking to Exotel: the HTTP client, its errors, and callback payload parsing."""

from .client import CallInfo, ConnectRequest, ExotelClient
from .errors import (
    ExotelError,
    ExotelRateLimited,
    ExotelRejected,
    ExotelTimeout,
    ExotelUncertain,
    ExotelUnreachable,
)

__all__ = [
    "CallInfo",
    "ConnectRequest",
    "ExotelClient",
    "ExotelError",
    "ExotelRateLimited",
    "ExotelRejected",
    "ExotelTimeout",
    "ExotelUncertain",
    "ExotelUnreachable",
]
