"""A strict JSON reader for the API's answers: I-JSON (RFC 7493), as parsers in other languages demand it.

Python's json module accepts NaN, Infinity and lone surrogate escapes ("\\ud800");
many clients refuse them. Importable as `from tests.support.strict_json import strict_json`.
"""

from __future__ import annotations

import json
from typing import Any


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def strict_loads(text: str | bytes) -> Any:
    """Parse `text`, refusing NaN/Infinity and any string holding a lone surrogate."""
    value = json.loads(text, parse_constant=_refuse_constant)
    _check_strings(value)
    return value


def strict_json(response) -> Any:
    """A Flask test response's body, parsed strictly; it must say it is JSON."""
    assert response.mimetype == "application/json", (response.status_code, response.mimetype)
    return strict_loads(response.get_data())
