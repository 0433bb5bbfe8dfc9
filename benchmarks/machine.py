"""Machine facts printed by every benchmark: cores, CPU, Python and library versions, load, memory."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
from pathlib import Path

from adapters import loop as event_loop


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return "?"
    return f"{pages * size / 2**30:.1f} GiB"


def _commit() -> str:
    """The code measured: the git commit, marked ``+changes`` when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def _loop() -> str:
    """The loop the benchmarks run on: the one the app's entry points use (adapters/loop.py)."""
    factory = event_loop.loop_factory()
    return f"uvloop {_version('uvloop')}" if factory.__module__.startswith("uvloop") else "asyncio"


def facts() -> str:
    """One line; the load average shows whether other processes were busy on the same cores."""
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({_cpu_model()}), {_memory_gib()} RAM, {platform.system()} "
            f"{platform.release()} | Python {platform.python_version()} | SQLAlchemy {_version('sqlalchemy')} | "
            f"llama-cpp-python {_version('llama-cpp-python')} | SQLite {sqlite3.sqlite_version} | "
            f"psycopg {_version('psycopg')} | event loop {_loop()} | code {_commit()} | load avg 1/5/15 min {load}")
