"""The parent side of a training run: checks the data and hyper-parameters, starts ``training.run`` as a child
process, reports its progress, and moves the adapter into place only when the worker finished.

Until then the adapter lives in a hidden staging directory beside ``out`` (same file system, so the final move is
one rename): a failed, killed or cancelled run leaves ``out`` exactly as it was -- absent."""

from __future__ import annotations

import asyncio
import collections
import inspect
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.dataset import MIN_PAIRS, UNITS, Row, check_enough, write_rows
from training.errors import TrainingError, TrainingFailedError
from training.params import TrainParams
from training.run import FAILED, OFFLINE, RECORD

log = logging.getLogger(__name__)

STDERR_TAIL = 40  # lines of the worker's stderr kept for the log when it fails
LINE_LIMIT = 1 << 20  # longest event line
CHUNK = 1 << 16
LINE_KEPT = 2000  # characters kept of one stderr line


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    loss: float | None
    reward_margin: float | None
    elapsed_s: float
    eta_s: float | None


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path  # a PEFT adapter (adapter_model.safetensors, adapter_config.json) and training.json
    examples: int
    steps: int
    losses: tuple[float | None, ...]
    wall_s: float
    record: dict[str, Any] = field(repr=False)  # training.json: hyper-parameters, loss curve, versions


ProgressHandler = Callable[[Progress], Awaitable[None] | None]


def worker_command(parent_gguf: Path, data: Path, out: Path, params: TrainParams, *, threads: int = 0,
                   python: str | None = None) -> list[str]:
    """The command line of one worker (``min_pairs`` 1: the parent has already counted)."""
    return [python or sys.executable, "-m", "training.run", "--model", str(parent_gguf), "--data", str(data),
            "--out", str(out), "--min-pairs", "1", "--threads", str(threads), *params.to_argv()]


async def train_adapter(parent_gguf: Path, rows: Sequence[Row], out: Path, params: TrainParams | None = None, *,
                        min_pairs: int = MIN_PAIRS, on_progress: ProgressHandler | None = None, threads: int = 0,
                        python: str | None = None) -> TrainResult:
    """Train a LoRA adapter on ``parent_gguf`` from DPO or KTO ``rows`` (``bot/export.py``'s) into the new
    directory ``out``, in a child process.

    Raises, before anything starts: ``HyperParameterError``, ``PreferenceDataError``, ``NotEnoughPairsError``, and
    ``TrainingError`` if ``out`` exists. Then ``TrainingFailedError`` when the worker fails or dies (and
    ``TrainingUnavailableError`` when it cannot load the parent). Cancelling the task kills the worker. On any
    failure ``out`` is not created."""
    params = params or TrainParams()
    params.check()
    kept = check_enough(rows, params.method, min_pairs)
    if out.exists():
        raise TrainingError(f"{out.name} already exists; choose another name.")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    try:
        data, adapter = staging / "rows.jsonl", staging / "adapter"
        write_rows(kept, data)
        adapter.mkdir()
        command = worker_command(parent_gguf, data, adapter, params, threads=threads, python=python)
        steps, wall = await _supervise(command, on_progress)
        record = json.loads((adapter / RECORD).read_text(encoding="utf-8"))
        os.rename(adapter, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("trained %s: %d %s, %d steps in %.0f s", out, len(kept), UNITS[params.method], steps, wall)
    return TrainResult(adapter_dir=out, examples=len(kept), steps=steps,
                       losses=tuple(point["loss"] for point in record["curve"]), wall_s=wall, record=record)


async def _supervise(command: list[str], on_progress: ProgressHandler | None) -> tuple[int, float]:
    """Run the worker to its end; (steps, wall seconds) when it finished, else ``TrainingFailedError``."""
    env = {**os.environ, **OFFLINE, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                   env=env, limit=LINE_LIMIT)
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
    assert process.stdout is not None and process.stderr is not None
    drain = asyncio.create_task(_collect(process.stderr, tail))
    error: str | None = None
    done: dict[str, Any] | None = None
    try:
        async for raw in process.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # the worker prints only JSON lines here; anything else is not ours to parse
            kind = event.get("event")
            if kind == "step" and on_progress is not None:
                await _call(on_progress, Progress(step=event["step"], steps=event["steps"], loss=event["loss"],
                                                  reward_margin=event["reward_margin"],
                                                  elapsed_s=event["elapsed_s"], eta_s=event["eta_s"]))
            elif kind == "error":
                error = str(event.get("message", ""))
            elif kind == "done":
                done = event
        code = await process.wait()
        await drain
    except BaseException:
        # Cancelled, or the progress handler failed: the worker must not outlive its run.
        if process.returncode is None:
            process.kill()
            await process.wait()
        drain.cancel()
        raise
    detail = "".join(tail)
    if code == 0 and done is not None:
        return int(done["steps"]), float(done["wall_s"])
    if code == FAILED and error:
        raise TrainingFailedError(error, detail)
    log.error("training worker exited with %s; its last output:\n%s", code, detail)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        raise TrainingFailedError(f"The training process was killed ({name}); nothing was saved.", detail)
    raise TrainingFailedError(f"The training process failed (exit status {code}); nothing was saved. "
                              f"The server log has the details.", detail)


async def _collect(stream: asyncio.StreamReader, tail: collections.deque[str]) -> None:
    """Keep the last lines of ``stream`` (read in chunks: progress bars write long lines of carriage returns)."""
    pending = ""
    while chunk := await stream.read(CHUNK):
        *lines, pending = (pending + chunk.decode("utf-8", "replace")).split("\n")
        tail.extend(line[-LINE_KEPT:] + "\n" for line in lines)
    if pending:
        tail.append(pending[-LINE_KEPT:])


async def _call(handler: ProgressHandler, progress: Progress) -> None:
    result = handler(progress)
    if inspect.isawaitable(result):
        await result
