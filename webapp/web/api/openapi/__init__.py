"""The JSON API described as an OpenAPI 3.1 document, served at /api/openapi.json.

Written by hand beside the routes it describes (tests/web/test_openapi.py checks
that every API route is in it and that answers match it; CI runs schemathesis
against it). Schemas name only what clients rely on; extra properties are allowed.
"""

from __future__ import annotations

from typing import Any

from ....config import Settings
from .paths import PATHS
from .requests import call_request, campaign_request
from .schemas import SCHEMAS
from .webhooks import PATHS as WEBHOOK_PATHS
from .webhooks import SCHEMAS as WEBHOOK_SCHEMAS


def document(budget: int = Settings.exotel_requests_per_minute) -> dict[str, Any]:
    """The whole OpenAPI document; `budget` is the deployment's EXOTEL_REQUESTS_PER_MINUTE (a campaign's top pace)."""
    schemas = {**SCHEMAS, **WEBHOOK_SCHEMAS, "CallRequest": call_request(), "CampaignRequest": campaign_request(max(budget, 1))}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Exotel calls", "version": "1", "description": "Place calls and run campaigns through Exotel."},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {**PATHS, **WEBHOOK_PATHS},
    }
