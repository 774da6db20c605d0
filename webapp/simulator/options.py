"""The simulator's run-time options, validated: speed, lost and late callbacks, rate limit, retries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPTION_NAMES = ("speed", "drop_callbacks", "delay_callbacks", "seed", "rate_limit_per_minute",
                "callback_retry_delays", "callback_timeout")


def number(value: Any, name: str, *, minimum: float) -> float:
    """Return ``value`` as a float >= ``minimum`` or raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum or value != value:
        raise ValueError(f"{name} must be a number >= {minimum:g}")
    return float(value)


def fraction(value: Any, name: str) -> float:
    """Return ``value`` as a float in 0..1 or raise ValueError."""
    share = number(value, name, minimum=0.0)
    if share > 1:
        raise ValueError(f"{name} must be between 0 and 1")
    return share


def optional_count(value: Any, name: str) -> int | None:
    """Return a non-negative integer (0 meaning none) or None; raise ValueError otherwise."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{name} must be a non-negative integer or null")
    return value or None


def seconds_list(value: Any, name: str) -> tuple[float, ...]:
    """Return a list of non-negative seconds as a tuple or raise ValueError."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of seconds")
    return tuple(number(item, name, minimum=0.0) for item in value)


def seed_value(value: Any, name: str) -> int | None:
    """Return an integer seed or None; raise ValueError otherwise."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name} must be an integer or null")
    return value


_VALIDATORS = {
    "speed": lambda v, n: number(v, n, minimum=0.0),
    "drop_callbacks": fraction,
    "delay_callbacks": lambda v, n: number(v, n, minimum=0.0),
    "seed": seed_value,
    "rate_limit_per_minute": optional_count,
    "callback_retry_delays": seconds_list,
    "callback_timeout": lambda v, n: number(v, n, minimum=0.001),
}


@dataclass
class Options:
    """What a running simulator can be told to change.

    ``speed`` multiplies every simulated delay (0.02 runs 50x faster);
    ``drop_callbacks`` is the share (0..1) of callbacks never sent;
    ``delay_callbacks`` is the simulated seconds every other callback waits
    before it leaves; ``seed`` seeds the drop decisions;
    ``rate_limit_per_minute`` (None = off) limits the ``/v1`` API;
    ``callback_retry_delays`` are the simulated seconds before each retry of a
    failed callback; ``callback_timeout`` is the real seconds Exotel waits for
    a 2xx.
    """

    speed: float = 1.0
    drop_callbacks: float = 0.0
    delay_callbacks: float = 0.0
    seed: int | None = None
    rate_limit_per_minute: int | None = None
    callback_retry_delays: tuple[float, ...] = field(default=(300.0, 900.0))
    callback_timeout: float = 15.0

    @staticmethod
    def validate(options: dict[str, Any]) -> dict[str, Any]:
        """Return ``options`` checked and normalised; ValueError names the first bad one."""
        unknown = set(options) - set(OPTION_NAMES)
        if unknown:
            raise ValueError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return {name: _VALIDATORS[name](value, name) for name, value in options.items()}

    def as_dict(self) -> dict[str, Any]:
        """Return the options as JSON-friendly data."""
        values = {name: getattr(self, name) for name in OPTION_NAMES}
        values["callback_retry_delays"] = list(self.callback_retry_delays)
        return values
