"""The parts every input check is made of: the error naming its field, the Faults that gather them,
and the text rule every field, header and filter obeys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

# The longest text any request field, header or filter may carry unless it says otherwise.
MAX_TEXT = 2000
T = TypeVar("T")


class ValidationError(Exception):
    """Input that cannot be placed; `field` names the culprit for the API and the form."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid_field"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


def has_lone_surrogate(value: str) -> bool:
    """True when `value` holds a code point of U+D800 to U+DFFF, which UTF-8 cannot encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def is_clean_text(value: str) -> bool:
    """True when `value` holds no NUL and no lone surrogate: text both databases store and UTF-8 can carry."""
    return "\x00" not in value and not has_lone_surrogate(value)


def check_text(value: str, field: str | None, *, limit: int = MAX_TEXT, label: str | None = None) -> str:
    """The rule for every text a request carries (API body, headers, list and report filters): return it or refuse it.

    PostgreSQL cannot store NUL in text, and a lone surrogate ("\\ud800" in JSON)
    cannot be encoded as UTF-8 for either database or for Exotel; a bound on
    length keeps a filter from becoming a denial of service.
    """
    name = label or field or "A field name"
    if len(value) > limit:
        raise ValidationError(f"{name} is limited to {limit} characters.", field, "too_long")
    if "\x00" in value:
        raise ValidationError(f"{name} must not contain NUL characters.", field, "invalid_text")
    if has_lone_surrogate(value):
        raise ValidationError(f"{name} holds a lone surrogate (U+D800 to U+DFFF), which is not text.", field, "invalid_text")
    return value


def integral(value: Any) -> Any:
    """`value`, an integral float (JSON's 60.0, which JSON Schema counts as an integer) made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def refuse_json_constant(constant: str) -> Any:
    """json.loads' parse_constant: NaN, Infinity and -Infinity are Python's, not JSON's."""
    raise ValueError(f"{constant} is not JSON")


def in_utc(when: datetime, field: str, message: str | None = None) -> datetime:
    """An aware `when` in UTC; one that its offset moves outside years 1-9999 is refused, not a crash."""
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            message or f"{field} is out of range: in UTC it must fall within the years 1 to 9999.", field
        ) from None


@dataclass
class Faults:
    """The faults of one request, the first of each field, in the order they were found.

    The API answers with the first (the contract's one error); a form shows them all.
    """

    errors: list[ValidationError] = field(default_factory=list)

    def add(self, error: ValidationError) -> None:
        if error.field is None or all(seen.field != error.field for seen in self.errors):
            self.errors.append(error)

    def check(self, step: Callable[[], T]) -> T | None:
        """`step`'s value, or None with its ValidationError kept."""
        try:
            return step()
        except ValidationError as exc:
            self.add(exc)
            return None

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0]
