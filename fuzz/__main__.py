"""Run the fuzz properties for longer than the test suite does: `python -m fuzz --minutes 10`.

Uses its own settings (random, no deadline), prints how many cases each target ran, and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence

from hypothesis import settings

from fuzz import Runnable, test_frontend, test_parser

#: Every target, in the order they run.
TARGETS: tuple[Runnable, ...] = (*test_parser.TARGETS, *test_frontend.TARGETS)
#: Cases per Hypothesis run when running against the clock; later runs are sized to fit the time left.
_FIRST_BATCH = 100
_MAX_BATCH = 20_000


def _settings(max_examples: int) -> settings:
    return settings(settings.get_profile("long"), max_examples=max_examples, derandomize=False)


def run_target(target: Runnable, examples: int | None, seconds: float | None) -> tuple[int, float, bool]:
    """Run one target until `examples` cases ran or `seconds` passed; (cases run, seconds taken, passed)."""
    count = 0

    def on_case() -> None:
        nonlocal count
        count += 1

    start = time.monotonic()
    deadline = None if seconds is None else start + seconds
    batch = examples if seconds is None and examples is not None else _FIRST_BATCH
    while True:
        before = count
        try:
            target.hypothesis_test(_settings(batch), on_case)()
        except Exception:
            traceback.print_exc()
            return count, time.monotonic() - start, False
        now = time.monotonic()
        if count == before:  # the search space is exhausted: more runs would repeat it
            break
        if examples is not None and count >= examples:
            break
        if deadline is not None:
            if now >= deadline:
                break
            per_case = (now - start) / count
            batch = int(min(max((deadline - now) / per_case, 10), _MAX_BATCH))
        if examples is not None:
            batch = min(batch, examples - count)
    return count, time.monotonic() - start, True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument(
        "--minutes", type=float, help="total time for all selected targets, shared evenly (default 1 unless --examples)"
    )
    parser.add_argument("--examples", type=int, help="cases per target (with --minutes: stop at whichever comes first)")
    parser.add_argument(
        "--target", action="append", choices=[t.name for t in TARGETS], help="run only these (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.minutes is None and args.examples is None:
        args.minutes = 1.0
    targets = [t for t in TARGETS if args.target is None or t.name in args.target]
    share = None if args.minutes is None else args.minutes * 60 / len(targets)
    results = []
    for target in targets:
        print(f"{target.name}: running", flush=True)
        count, seconds, passed = run_target(target, args.examples, share)
        results.append((target.name, count, seconds, passed))
        print(f"{target.name}: {count} cases in {seconds:.1f} s, {'passed' if passed else 'FAILED'}", flush=True)
    print()
    print(f"{'target':<16} {'cases':>8} {'seconds':>8}  result")
    for name, count, seconds, passed in results:
        print(f"{name:<16} {count:>8} {seconds:>8.1f}  {'passed' if passed else 'FAILED'}")
    return 0 if all(passed for *_, passed in results) else 1


if __name__ == "__main__":
    sys.exit(main())
