"""A built-in Exotel simulator: a real HTTP server speaking Exotel's call API.

It is the embedded default when no Exotel credentials are configured and the
test suite's stand-in for Exotel. Outcomes are predictable from the dialled
number (see :mod:`webapp.simulator.outcomes`); StatusCallbacks are posted back
with Exotel's payloads, encodings, timing and retries.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use, so that the app can read `simulator.defaults` without
# importing the simulator itself (it is started only when no credentials are set).
_EXPORTS = {
    "SimulatorServer": ".server",
    "SimulatorState": ".state",
    "create_simulator_app": ".app",
    "outcome_for_number": ".outcomes",
}

__all__ = ["SimulatorServer", "SimulatorState", "create_simulator_app", "outcome_for_number"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
