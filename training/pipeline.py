"""From a matchup's votes to a live contender, the one sequence ``ftarena train`` and ``/arena-train`` share:
preference rows from the existing exports -> the installation's training slot -> ``train_adapter`` (a child
process) -> GGUF conversion (a worker thread) -> registration. Until the registration, nothing the arena serves
has changed: a failed, refused or killed run leaves models and matchups as they were, and its files are removed."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import io
import json
import logging
import os
import shutil
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain import Model
from bot.errors import StorageError
from bot.export import ExportOptions
from bot.ports import ContenderRegistry
from bot.providers.embedded import resolve_model_path
from bot.registry import (
    EXTERNAL,
    LOCAL_PROVIDER,
    Contender,
    RegistryError,
    check_name,
    check_parent,
    next_name,
    votes_fingerprint,
)
from bot.service import ArenaService
from bot.statistics.slices import BattleQuery
from training.convert import convert_adapter
from training.dataset import MIN_PAIRS, Row, check_enough, usable_rows
from training.errors import TrainingBusyError, TrainingError, TrainingUnavailableError
from training.params import TrainParams
from training.runner import Progress, ProgressHandler, train_adapter

log = logging.getLogger(__name__)

# A run renews its claim on every progress event; one silent this long died without releasing it.
STALE_CLAIM = timedelta(minutes=15)
ADAPTER_FILE = "adapter.gguf"
CHUNK = 1 << 20


@dataclass(frozen=True)
class TrainRequest:
    matchup: str | None
    params: TrainParams = field(default_factory=TrainParams)
    min_pairs: int = MIN_PAIRS
    min_votes: int = 1
    majority: bool = False
    include_cut: bool = False  # keep replies the length limit stopped (a base model rarely stops by itself)
    name: str | None = None


@dataclass(frozen=True)
class VotesSeen:
    """What a contender was trained on: how many votes, their fingerprint and their time window."""

    count: int
    fingerprint: str
    first: datetime | None
    last: datetime | None


def holder_name() -> str:
    """Who holds the training slot, as people read it in a 'busy' message."""
    return f"{socket.gethostname()}:{os.getpid()}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def config_models(service: ArenaService) -> dict[str, Model]:
    """The models of the configured matchups (never a registered contender: those carry their adapter)."""
    return {m.name: m for mu in service.config_matchups.values() for m in (mu.base, mu.finetuned)}


async def taken_names(service: ArenaService, registry: ContenderRegistry) -> set[str]:
    """Names a new contender cannot have: every contender's (retired ones too: their votes carry the name), and
    the config's models and matchups (a contender's matchup is named like it)."""
    registered = {c.name for c in await registry.contenders(include_retired=True)}
    return registered | set(config_models(service)) | set(service.config_matchups)


def registry_of(service: ArenaService) -> ContenderRegistry:
    if not isinstance(service.repository, ContenderRegistry):
        raise TrainingError("This database has no model registry.")
    return service.repository


def parent_gguf(model: Model) -> Path:
    """The parent's GGUF file; models served elsewhere are trained elsewhere (``--emit``)."""
    if model.provider != LOCAL_PROVIDER:
        raise TrainingUnavailableError(
            f"{model.name} is served by {model.provider}, not from a local GGUF file: train it elsewhere "
            f"(ftarena train --emit DIR) and bring the adapter back with ftarena models add.")
    return resolve_model_path(model.model)


async def preference_rows(service: ArenaService, request: TrainRequest) -> tuple[list[Row], VotesSeen]:
    """The matchup's DPO or KTO rows, as ``ftarena export`` writes them, and the votes they came from."""
    matchup = service.matchup(request.matchup).name
    query = BattleQuery(matchup=matchup, drop_identity_leaks=False, drop_failed=False)
    options = ExportOptions(salt=service.export_salt, min_votes=request.min_votes, majority=request.majority,
                            include_cut=request.include_cut)
    buffer = io.StringIO()
    await service.export(request.params.method, buffer, query, options)
    rows = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    def seen() -> VotesSeen:
        keys, times = [], []
        for battle in service.repository.iter_battles(query):
            keys.append((battle.vote.comparison_id, battle.vote.voter))
            times.append(battle.vote.updated_at)
        return VotesSeen(len(keys), votes_fingerprint(keys), min(times, default=None), max(times, default=None))

    return rows, await asyncio.to_thread(seen)


async def train_contender(service: ArenaService, request: TrainRequest, adapters_dir: Path, *,
                          on_progress: ProgressHandler | None = None,
                          on_start: Callable[[str, int], Awaitable[None] | None] | None = None,
                          holder: str | None = None,
                          threads: int = 0, python: str | None = None,
                          clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Contender:
    """Train, convert and register the next fine-tune of ``request.matchup``'s fine-tuned model; returns the
    registered contender, already live in this service. Everything that can be checked is checked before the
    slot is taken and any process starts; ``on_start(name, examples)`` is called when the run begins."""
    registry = registry_of(service)
    request.params.check()
    parent = check_parent(config_models(service), service.matchup(request.matchup).finetuned.name)
    gguf = parent_gguf(parent)
    rows, votes = await preference_rows(service, request)
    check_enough(rows, request.params.method, request.min_pairs)
    taken = await taken_names(service, registry)
    name = check_name(request.name) if request.name else next_name(parent.name, request.params.method, taken)
    if name in taken:
        raise TrainingError(f"{name} is already a model's name; choose another with --name.")
    out = adapters_dir.resolve() / name
    holder = holder or holder_name()
    busy = await registry.claim_training(holder, clock(), clock() - STALE_CLAIM)
    if busy is not None:
        raise TrainingBusyError(f"Another training run ({busy}) is going; one runs at a time. Try again when "
                                f"it has finished.")
    try:
        if on_start is not None:
            begun = on_start(name, len(usable_rows(rows, request.params.method)))
            if inspect.isawaitable(begun):
                await begun

        async def beat(progress: Progress) -> None:
            try:  # a database hiccup must not stop the run (a failing progress handler kills the worker)
                await registry.claim_training(holder, clock(), clock() - STALE_CLAIM)
            except StorageError:
                log.warning("could not renew the training slot; will try again at the next step")
            if on_progress is not None:
                result = on_progress(progress)
                if inspect.isawaitable(result):
                    await result

        result = await train_adapter(gguf, rows, out, request.params, min_pairs=request.min_pairs,
                                     on_progress=beat, threads=threads, python=python)
        try:
            contender = await _register(registry, name, parent, gguf, out, result.record, votes, clock())
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)  # not registered: the arena must not keep half a contender
            raise
    finally:
        await registry.release_training(holder)
    if service.registry_view is not None:
        await service.registry_view.refresh(force=True)
    return contender


async def _register(registry: ContenderRegistry, name: str, parent: Model, gguf: Path, out: Path,
                    record: dict[str, Any], votes: VotesSeen, now: datetime) -> Contender:
    adapter = await asyncio.to_thread(convert_adapter, out, gguf, out / ADAPTER_FILE)
    adapter_sha, base_sha = await asyncio.gather(asyncio.to_thread(sha256_of, adapter),
                                                 asyncio.to_thread(sha256_of, gguf))
    params = dict(record["params"])
    contender = Contender(
        name=name, parent=parent.name, method=str(params["method"]), adapter=str(adapter),
        adapter_sha256=adapter_sha, base_model=str(gguf), base_sha256=base_sha, votes=votes.count,
        votes_hash=votes.fingerprint, data_from=votes.first, data_until=votes.last,
        params={**params, "examples": record["examples"], "versions": record.get("versions", {})},
        curve=tuple(record["curve"]), wall_s=float(record["wall_s"]), created_at=now)
    await registry.register_contender(contender)
    return contender


def _check_lora_gguf(path: Path) -> None:
    import gguf

    try:
        kind = gguf.GGUFReader(path).fields.get("general.type")
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{path.name} is not a GGUF file.") from exc
    if kind is None or kind.contents() != "adapter":
        raise TrainingError(f"{path.name} is a GGUF model, not a LoRA adapter.")


async def add_contender(service: ArenaService, name: str, parent_name: str, lora: str, adapters_dir: Path,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Contender:
    """Register an adapter trained elsewhere (``--emit``'s hand-off): a GGUF LoRA file or a PEFT adapter folder
    (converted here) for a ``llamacpp`` parent; for a model on a server, the name the server gives the LoRA."""
    registry = registry_of(service)
    check_name(name)
    parent = check_parent(config_models(service), parent_name)
    taken = await taken_names(service, registry)
    if name in taken:
        raise TrainingError(f"{name} is already a model's name; choose another.")
    if parent.provider != LOCAL_PROVIDER:
        contender = Contender(name=name, parent=parent.name, method=EXTERNAL, adapter=lora, adapter_sha256="",
                              base_model=parent.model, created_at=clock())
    else:
        gguf = parent_gguf(parent)
        source = Path(lora).expanduser().resolve()
        made: Path | None = None
        if (source / "adapter_config.json").is_file():
            made = adapters_dir.resolve() / name
            made.mkdir(parents=True)
            try:
                source = await asyncio.to_thread(convert_adapter, source, gguf, made / ADAPTER_FILE)
            except BaseException:
                shutil.rmtree(made, ignore_errors=True)
                raise
        elif source.is_file():
            await asyncio.to_thread(_check_lora_gguf, source)
        else:
            raise TrainingError(f"No adapter at {lora}: give a GGUF LoRA file or a PEFT adapter folder.")
        adapter_sha, base_sha = await asyncio.gather(asyncio.to_thread(sha256_of, source),
                                                     asyncio.to_thread(sha256_of, gguf))
        contender = Contender(name=name, parent=parent.name, method=EXTERNAL, adapter=str(source),
                              adapter_sha256=adapter_sha, base_model=str(gguf), base_sha256=base_sha,
                              created_at=clock())
    await registry.register_contender(contender)
    if service.registry_view is not None:
        await service.registry_view.refresh(force=True)
    return contender


async def retire_contender(service: ArenaService, name: str,
                           clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    if not await registry_of(service).retire_contender(name, clock()):
        raise RegistryError(f"No registered contender named {name!r} (config-file models are changed in the "
                            f"config; see ftarena models).")
    if service.registry_view is not None:
        await service.registry_view.refresh(force=True)
