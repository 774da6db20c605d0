"""Run the simulator by hand: ``python -m webapp.simulator --port 9000 ...``.

Options default to the SIMULATOR_* environment variables (see the README).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from . import defaults
from .server import SimulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; the environment gives the defaults, a bad value stops with one line."""
    parser = argparse.ArgumentParser(prog="python -m webapp.simulator", description=__doc__)
    try:
        env = defaults.from_environment()
    except ValueError as exc:
        parser.error(str(exc))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--account-sid", default=os.environ.get("SIMULATOR_ACCOUNT_SID", defaults.ACCOUNT_SID))
    parser.add_argument("--api-key", default=os.environ.get("SIMULATOR_API_KEY", defaults.API_KEY))
    # The token may also come from the environment, to keep it out of `ps`.
    parser.add_argument("--api-token", default=os.environ.get("SIMULATOR_API_TOKEN", defaults.API_TOKEN))
    parser.add_argument("--speed", type=float, default=env.get("speed", 1.0),
                        help="delay multiplier, 0.1 = 10x faster (SIMULATOR_SPEED)")
    parser.add_argument("--drop-callbacks", type=float, default=env.get("drop_callbacks", 0.0),
                        help="share of callbacks never sent, 0..1 (SIMULATOR_DROP_CALLBACKS)")
    parser.add_argument("--delay-callbacks", type=float, default=env.get("delay_callbacks", 0.0),
                        help="simulated seconds every other callback waits (SIMULATOR_DELAY_CALLBACKS)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rate-limit", type=int, default=env["rate_limit_per_minute"],
                        help=f"API requests per minute, 0 = off (SIMULATOR_REQUESTS_PER_MINUTE, "
                             f"default {defaults.REQUESTS_PER_MINUTE})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then stop at once (callbacks on the wire are abandoned)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        server = SimulatorServer(args.account_sid, args.api_key, args.api_token, host=args.host, port=args.port,
                                 speed=args.speed, drop_callbacks=args.drop_callbacks,
                                 delay_callbacks=args.delay_callbacks, seed=args.seed,
                                 rate_limit_per_minute=args.rate_limit)
    except ValueError as exc:
        raise SystemExit(f"python -m webapp.simulator: {exc}") from None
    with server:
        print(f"Exotel simulator on {server.base_url} (account {args.account_sid})", flush=True)
        done.wait()


if __name__ == "__main__":
    main()
