"""The engine alone on the benchmark's 5-node workflow: no HTTP, no database, no broker.

    .venv/bin/python bench/engine_only.py [--repeat 7] [--number 2000]

Times, in one process, what the two sides of an execution spend in pure Python:
``engine.run`` (the worker's share), ``validate_definition`` (the API checks every run
request with it) and ``store_items`` (the worker's output truncation). Prints the median of
``--repeat`` timeit rounds as microseconds per call, then one summary line.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _support import RUN_INPUT, WORKFLOW

from fluxolab import engine
from fluxolab.engine.storage import store_items

INPUT = [{"json": RUN_INPUT}]


def run_once() -> engine.RunResult:
    """Run the workflow once the way the worker does (fresh context, default limits)."""
    context = engine.RunContext(execution_id="bench", workflow={"id": "w", "name": "bench"})
    return engine.run(WORKFLOW, INPUT, context)


def check() -> None:
    """Fail loudly unless the workflow succeeds and takes the true branch (5 steps)."""
    result = run_once()
    if result.status != "succeeded" or len(result.steps) != 5:
        raise SystemExit(f"engine_only: unexpected result {result.status} {result.error}")


def median_us(func: Callable[[], object], number: int, repeat: int) -> float:
    """Return the median over ``repeat`` rounds of the mean microseconds per call."""
    rounds = timeit.repeat(func, number=number, repeat=repeat)
    return statistics.median(rounds) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    """Time the three calls and print a table plus one summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timeit rounds (median reported)")
    parser.add_argument("--number", type=int, default=2000, help="calls per round")
    args = parser.parse_args(argv)
    check()
    output = run_once().output
    cases: dict[str, Callable[[], object]] = {
        "engine.run (5 nodes)": run_once,
        "validate_definition": lambda: engine.validate_definition(WORKFLOW),
        "store_items (output)": lambda: store_items(output, 256 * 1024),
    }
    results = {name: median_us(func, args.number, args.repeat) for name, func in cases.items()}
    print(f"{'call':<24} {'us/call':>10}")
    for name, micros in results.items():
        print(f"{name:<24} {micros:>10.1f}")
    run_us = results["engine.run (5 nodes)"]
    print(
        f"engine_only: run={run_us:.1f}us/execution ({1e6 / run_us:.0f}/s on one core) "
        f"validate={results['validate_definition']:.1f}us "
        f"store_items={results['store_items (output)']:.1f}us "
        f"(median of {args.repeat}x{args.number}, Python {sys.version.split()[0]})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
