"""Run every benchmark in turn, or the ones named: `python -m bench [reports|webhooks|campaigns|budget|recordings|upgrade|outbound_webhooks ...]`."""

from __future__ import annotations

import importlib
import sys

SUITES = ("reports", "webhooks", "campaigns", "budget", "recordings", "upgrade", "outbound_webhooks")


def main(argv: list[str]) -> int:
    chosen = argv or list(SUITES)
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    status = 0
    for name in chosen:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name} ==", flush=True)
        status |= module.main() or 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
