"""``ftarena train`` (train, convert, register, with a progress bar), ``ftarena train --emit`` (hand off to TRL's
own CLI) and ``ftarena models`` (the registry: list with lineage, add, remove) in the terminal."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn

from bot.registry import Contender
from bot.service import ArenaService
from training import runner
from training.emit import emit_handoff
from training.pipeline import TrainRequest, add_contender, preference_rows, retire_contender
from training.pipeline import train_contender as run_training


def _figure(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


async def train(service: ArenaService, console: Console, request: TrainRequest, adapters_dir: Path) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[figures]}"))
    # Nothing is drawn until the run starts: a refusal (too few pairs, a busy slot) is one line, not a bar.
    bar = Progress(*columns, console=console, transient=False)
    task = bar.add_task("loading the parent", total=None, figures="", start=False)

    def started(name: str, examples: int) -> None:
        console.print(f"training [bold]{escape(name)}[/] on {examples} {request.params.method.upper()} "
                      f"examples, in a separate process")
        bar.start()

    def show(progress: runner.Progress) -> None:
        bar.update(task, total=progress.steps, completed=progress.step,
                   description=f"step {progress.step}/{progress.steps}",
                   figures=f"loss {_figure(progress.loss)}  reward margin {_figure(progress.reward_margin)}  "
                           f"ETA {_eta(progress.eta_s)}")

    try:
        contender = await run_training(service, request, adapters_dir, on_progress=show, on_start=started)
    finally:
        if bar.live.is_started:
            bar.stop()
    console.print(f"[green]registered[/] [bold]{escape(contender.name)}[/] (vs {escape(contender.parent)}), "
                  f"from {contender.votes} votes in {_eta(contender.wall_s)}; it is live in running bots.")
    console.print(f"compare it: ftarena compare --matchup {escape(contender.name)} \"...\"")


async def emit(service: ArenaService, console: Console, request: TrainRequest, out: Path,
               hf_model: str | None) -> None:
    matchup = service.matchup(request.matchup)
    rows, votes = await preference_rows(service, request)
    handoff = emit_handoff(rows, request, matchup.finetuned, out, hf_model)
    console.print(f"wrote {handoff.examples} rows from {votes.count} votes to {escape(str(handoff.data_dir))}")
    console.print(f"train with TRL (any machine; under accelerate launch on a cluster):\n"
                  f"  {escape(handoff.command)}")
    console.print(f"then bring the adapter back:\n  {escape(handoff.add_command)}")


def lineage(c: Contender) -> str:
    """One contender as a few lines of Rich markup: what it is, what it saw, how it was trained, its files."""
    window = (f"{c.data_from:%Y-%m-%d %H:%M} to {c.data_until:%Y-%m-%d %H:%M} UTC"
              if c.data_from and c.data_until else "no votes recorded")
    params = ", ".join(f"{k} {c.params[k]}" for k in ("epochs", "learning_rate", "lora_r", "lora_alpha",
                                                      "max_length", "beta") if k in c.params)
    losses = [p["loss"] for p in c.curve if p.get("loss") is not None]
    status = "[green]live[/]" if c.live else f"retired {c.retired_at:%Y-%m-%d %H:%M}"
    lines = [f"[bold]{escape(c.name)}[/] vs {escape(c.parent)} · {c.method} · {status}",
             f"  data: {c.votes} votes, {window}" + (f", votes sha256 {c.votes_hash[:16]}" if c.votes_hash else "")]
    if params or losses:
        curve = f"loss {losses[0]:.3f} → {losses[-1]:.3f} in {len(losses)} steps" if losses else "no loss curve"
        lines.append(f"  training: {escape(params) or 'hyper-parameters unknown'}; {curve}"
                     + (f"; {_eta(c.wall_s)} wall" if c.wall_s is not None else ""))
    lines.append(f"  adapter: {escape(c.adapter)}" + (f" (sha256 {c.adapter_sha256[:16]})" if c.adapter_sha256 else ""))
    if c.base_model:
        lines.append(f"  parent weights: {escape(c.base_model)}"
                     + (f" (sha256 {c.base_sha256[:16]})" if c.base_sha256 else ""))
    return "\n".join(lines)


async def list_registry(service: ArenaService, console: Console) -> None:
    if service.registry_view is None:
        return
    contenders = await service.registry_view.registry.contenders(include_retired=True)
    if contenders:
        console.print("Registered contenders (each in a matchup of its own name against its parent):")
        for contender in contenders:
            console.print(lineage(contender), soft_wrap=True)
    else:
        console.print("No registered contenders yet: ftarena train --matchup M trains one from the votes.")


async def add(service: ArenaService, console: Console, name: str, parent: str, lora: str,
              adapters_dir: Path) -> None:
    contender = await add_contender(service, name, parent, lora, adapters_dir)
    console.print(f"[green]added[/] [bold]{escape(contender.name)}[/] (vs {escape(parent)}): "
                  f"ftarena compare --matchup {escape(contender.name)} \"...\"")


async def remove(service: ArenaService, console: Console, name: str) -> None:
    await retire_contender(service, name)
    console.print(f"retired {escape(name)}: its matchup is gone from the arena; its votes stay.")

