"""A built-in Exotel simulator: a real HTTP server speaking Exotel's call API.

It is the embedded default when no Exotel credentials are configured and the
test suite's stand-in for Exotel. Outcomes are predictable from the dialled
number (see :mod:`webapp.simulator.outcomes`); StatusCallbacks are posted back
with Exotel's payloads, encodings, timing and retries.
"""

from .app import create_simulator_app
from .outcomes import outcome_for_number
from .server import SimulatorServer
from .state import SimulatorState

__all__ = ["SimulatorServer", "SimulatorState", "create_simulator_app", "outcome_for_number"]
