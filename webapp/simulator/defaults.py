"""The simulator's defaults: the standalone account, and the options read from the environment.

The credentials guard nothing real: the simulator places no calls. The app
assumes them when EXOTEL_API_BASE is set without credentials; the simulator
that the app embeds for `make run` gets a random token instead.

This module imports nothing else of the simulator, so the app can read it
without loading the simulator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

ACCOUNT_SID = "simulator"
API_KEY = "simulator"
API_TOKEN = "simulator"

#: The simulated account's ExoPhones (its IncomingPhoneNumbers), and its balance in rupees.
EXOPHONES = ("08047112345", "08033445566")
BALANCE = "5000.00"

#: Exotel's documented voice API limit, which the embedded and standalone simulators enforce by default.
REQUESTS_PER_MINUTE = 200

#: Environment variable -> (option, parser) for the embedded and the standalone simulator.
ENVIRONMENT: dict[str, tuple[str, type]] = {
    "SIMULATOR_SPEED": ("speed", float),
    "SIMULATOR_REQUESTS_PER_MINUTE": ("rate_limit_per_minute", int),
    "SIMULATOR_DROP_CALLBACKS": ("drop_callbacks", float),
    "SIMULATOR_DELAY_CALLBACKS": ("delay_callbacks", float),
}


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the simulator options the SIMULATOR_* variables set, Exotel's rate limit by default.

    Raises :class:`ValueError` naming the variable when a value is unusable.
    """
    from .options import Options  # only when a simulator starts

    environ = os.environ if environ is None else environ
    options: dict[str, Any] = {"rate_limit_per_minute": REQUESTS_PER_MINUTE}
    for variable, (option, parse) in ENVIRONMENT.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        try:
            options.update(Options.validate({option: parse(raw)}))
        except ValueError as exc:
            raise ValueError(f"{variable}={raw!r}: {exc}") from None
    return options
