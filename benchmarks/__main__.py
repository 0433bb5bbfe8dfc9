"""``python -m benchmarks [--quick] [NAME ...]``: run every benchmark, or the ones named, one after another.

Each runs in a fresh interpreter, so one benchmark's threads, loaded models and peak memory cannot colour the next
one's figures. A missed target is a printed result, not a failure; the exit status is non-zero only when a benchmark
crashed."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence

from benchmarks import BENCHMARKS
from benchmarks.figures import QUICK_ENV


def main(argv: Sequence[str] | None = None) -> int:
    listing = "\n".join(f"  {name:<12} {what}" for name, what in BENCHMARKS.items())
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     epilog=f"benchmarks:\n{listing}",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help=f"fewer runs and smaller data (also ${QUICK_ENV}=1)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    crashed = []
    for name in args.names or list(BENCHMARKS):
        started = time.perf_counter()
        command = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if args.quick else [])]
        if subprocess.run(command, check=False).returncode != 0:
            crashed.append(name)
        print(f"({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
