"""The JSON API described as an OpenAPI 3.1 document, served at /api/openapi.json.

Written by hand beside the routes it describes (tests/web/test_openapi.py checks
that every API route is in it and that answers match it; CI runs schemathesis
against it). Schemas name only what clients rely on; extra properties are allowed.
"""

from __future__ import annotations

from typing import Any

from .paths import PATHS
from .schemas import SCHEMAS


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Exotel calls", "version": "1", "description": "Place calls and run campaigns through Exotel."},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": PATHS,
    }
