"""The webhook benchmark's report: the throughput table and the count check, with their targets."""

from __future__ import annotations

from pathlib import Path

from bench.ceilings import CEILINGS

TARGETS = {"postgresql": 0.35, "sqlite": 0.30}
P99_TARGET_MS = {"postgresql": 40.0}


def report(outcomes: dict, workdir: Path) -> int:
    """Print both tables; 1 when a target or a count check fails."""
    status = 0
    print()
    print("| database | gunicorn | endpoint | concurrent | requests/s | (per round) | p50 ms | p99 ms | (per round) "
          "| ratio to request.form | ratio to the app's reader | non-2xx |")
    print("|---|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|")
    for kind, outcome in outcomes.items():
        workers, threads = outcome["settings"]
        setting = f"{workers} x {threads}"
        for name, label in CEILINGS.items():
            for concurrency, run in outcome["bare"][name].items():
                ratio = run["rps"] / outcome["bare"]["form"][concurrency]["rps"]
                print(f"| {kind} | {setting} | {label} | {concurrency} | {run['rps']:.0f} | {run['rounds']} | {run['p50']:.1f} | "
                      f"{run['p99']:.1f} | {run['p99_rounds']} | {ratio:.0%} | | {run['non2xx'] + run['socket_errors']} |")
        for concurrency, run in outcome["runs"].items():
            ratio = run["rps"] / outcome["bare"]["form"][concurrency]["rps"]
            strict = run["rps"] / outcome["bare"]["reader"][concurrency]["rps"]
            flag = ""
            if concurrency == 64 and ratio < TARGETS[kind]:
                flag, status = f" (target {TARGETS[kind]:.0%})", 1
            if concurrency == 16 and run["p99"] >= P99_TARGET_MS.get(kind, float("inf")):
                flag, status = f"{flag} (p99 target {P99_TARGET_MS[kind]:.0f} ms)", 1
            wrapped = " (wrk reused events)" if run["wrapped"] else ""
            print(f"| {kind} | {setting} | callback | {concurrency} | {run['rps']:.0f} | {run['rounds']} | {run['p50']:.1f} | {run['p99']:.1f} | "
                  f"{run['p99_rounds']} | {ratio:.0%}{flag} | {strict:.0%} | {run['non2xx'] + run['socket_errors']}{wrapped} |")
    print()
    print("| database | distinct events sent | events stored | duplicates | missing | unexpected | terminal but not final "
          "| non-2xx | cut off by wrk, redelivered |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, outcome in outcomes.items():
        check = outcome["check"]
        print(f"| {kind} | {check['sent']} | {check['stored']} | {check['duplicates']} | {check['missing']} | "
              f"{check['unexpected']} | {check['not_final']} | {check['non2xx']} | {check['redelivered']} |")
        if check["stored"] != check["sent"] or check["duplicates"] or check["missing"] or check["unexpected"] \
                or check["not_final"] or check["non2xx"] or check["redelivered"] > check["connections"]:
            status = 1
    print(f"\nlogs and wrk inputs: {workdir}")
    return status
