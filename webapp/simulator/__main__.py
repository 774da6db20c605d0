"""Run the simulator by hand: ``python -m webapp.simulator --port 9000 ...``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from . import defaults
from .server import SimulatorServer


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until SIGINT/SIGTERM, then stop cleanly."""
    parser = argparse.ArgumentParser(prog="python -m webapp.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--account-sid", default=os.environ.get("SIMULATOR_ACCOUNT_SID", defaults.ACCOUNT_SID))
    parser.add_argument("--api-key", default=os.environ.get("SIMULATOR_API_KEY", defaults.API_KEY))
    # The token may also come from the environment, to keep it out of `ps`.
    parser.add_argument("--api-token", default=os.environ.get("SIMULATOR_API_TOKEN", defaults.API_TOKEN))
    parser.add_argument("--speed", type=float, default=1.0, help="delay multiplier (0.1 = 10x faster)")
    parser.add_argument("--drop-callbacks", type=float, default=0.0, help="fraction of callbacks lost")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute (off by default)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with SimulatorServer(args.account_sid, args.api_key, args.api_token, host=args.host, port=args.port,
                         speed=args.speed, drop_callbacks=args.drop_callbacks, seed=args.seed,
                         rate_limit_per_minute=args.rate_limit) as server:
        print(f"Exotel simulator on {server.base_url} (account {args.account_sid})", flush=True)
        done.wait()


if __name__ == "__main__":
    main()
