"""Answers for what pages poll: JSON with an ETag, and 304 Not Modified when the poller already has it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request


def poll_response(version: str, body: Callable[[], dict[str, Any]]) -> Response:
    """`body()` as JSON tagged `version`; a 304 without building it when If-None-Match names that version."""
    if version in request.if_none_match:
        response = Response(status=304)
    else:
        response = jsonify(body())
    response.set_etag(version)
    # Customer data: kept by no cache; the page's script remembers the version and asks with it.
    response.headers["Cache-Control"] = "no-store"
    return response
