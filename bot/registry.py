"""The model registry: contenders trained from the arena's votes (or added by hand), each with its lineage, and
the matchup each brings (``<new> vs <parent>``, named like the new contender). Config-file models stay where they
are; the arena's matchups are the config's plus the registry's live ones (``RegistryView``)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.domain import Matchup, Model
from bot.errors import ArenaError, ConfigError, StorageError

if TYPE_CHECKING:
    from bot.ports import ContenderRegistry, Provider
    from bot.service import ArenaService

log = logging.getLogger(__name__)

# Running bots look for new contenders this often: a count query on a small table, cheap enough to do every
# few seconds in every process.
REFRESH_EVERY_S = 3.0
# Any method a registered adapter came from: ours, or ``external`` for one trained elsewhere (models add).
EXTERNAL = "external"
LOCAL_PROVIDER = "llamacpp"  # the one provider that applies an adapter file itself
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


class RegistryError(ArenaError):
    """A contender cannot be registered, found or retired; the message says which and why."""


@dataclass(frozen=True)
class Contender:
    """A registered contender and its lineage. ``adapter`` is an absolute path to a GGUF LoRA for ``llamacpp``
    parents (for models on a server, the name the server gives the LoRA). ``votes_hash`` fingerprints the votes
    it was trained on (sha256 of their sorted comparison/voter keys); ``data_from``/``data_until`` their window."""

    name: str
    parent: str
    method: str
    adapter: str
    adapter_sha256: str
    base_model: str = ""  # the parent's weights: a GGUF path or a model id
    base_sha256: str = ""
    votes: int = 0
    votes_hash: str = ""
    data_from: datetime | None = None
    data_until: datetime | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    curve: tuple[Mapping[str, float | None], ...] = ()
    wall_s: float | None = None
    created_at: datetime | None = None
    retired_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.retired_at is None


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise RegistryError(f"{name[:40]!r} is not a usable model name: letters, digits and . _ + - only, "
                            f"at most 100 characters.")
    return name


def next_name(parent: str, method: str, taken: Iterable[str]) -> str:
    """``<parent>+<method>-N`` with the first N no contender (live or retired) has used."""
    used = set(taken)
    n = 1
    while f"{parent}+{method}-{n}" in used:
        n += 1
    return f"{parent}+{method}-{n}"


def votes_fingerprint(keys: Iterable[tuple[str, str]]) -> str:
    """sha256 of the sorted (comparison id, voter) keys of the votes a contender saw: one vote, one key."""
    digest = hashlib.sha256()
    for comparison_id, voter in sorted(keys):
        digest.update(f"{comparison_id}\t{voter}\n".encode())
    return digest.hexdigest()


def contender_model(contender: Contender, parent: Model) -> Model:
    """The contender as a model: the parent with the adapter applied. llama.cpp loads the adapter file beside
    the parent's weights; a server (vLLM, Lamini, ...) serves a LoRA under a model name of its own."""
    if parent.provider == LOCAL_PROVIDER:
        return replace(parent, name=contender.name, options={**parent.options, "lora_path": contender.adapter})
    return replace(parent, name=contender.name, model=contender.adapter)


def registry_matchups(models: Mapping[str, Model], contenders: Iterable[Contender],
                      blind: bool = True) -> dict[str, Matchup]:
    """The live contenders' matchups, ``<new> vs <parent>``, each named like its contender. A contender whose
    parent is no longer configured is left out (and logged), not an error: the config may have moved on."""
    matchups = {}
    for contender in contenders:
        if not contender.live:
            continue
        parent = models.get(contender.parent)
        if parent is None:
            log.warning("contender %s left out: its parent model %s is not configured", contender.name,
                        contender.parent)
            continue
        matchups[contender.name] = Matchup(name=contender.name, base=parent,
                                           finetuned=contender_model(contender, parent), blind=blind)
    return matchups


def check_parent(models: Mapping[str, Model], parent: str) -> Model:
    """The configured model a contender is built on; an adapter on top of a registered adapter would need the
    two merged first, which llama.cpp's single-adapter load cannot do."""
    model = models.get(parent)
    if model is None:
        raise ConfigError("--parent", f"no configured model named {parent!r}; known: {', '.join(sorted(models))}")
    if "lora_path" in model.options:
        raise RegistryError(f"{parent} already carries a LoRA adapter; train or add from its own parent.")
    return model


class RegistryView:
    """Keeps an ``ArenaService``'s matchups equal to config + live registry, in every process sharing the
    database: ``refresh`` asks the registry's version (cheap) and reloads only when it moved."""

    def __init__(self, service: ArenaService, registry: ContenderRegistry, models: Mapping[str, Model],
                 provider_factory: Callable[[Model], Provider], *, blind: bool = True,
                 every_s: float = REFRESH_EVERY_S) -> None:
        self.service = service
        self.registry = registry
        self.models = dict(models)
        self.provider_factory = provider_factory
        self.blind = blind
        self.every_s = every_s
        self._version: str | None = None
        self._checked = -float("inf")

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload when the registry changed (at most every ``every_s`` unless ``force``); True if it did."""
        now = time.monotonic()
        if not force and now - self._checked < self.every_s:
            return False
        self._checked = now
        version = await self.registry.registry_version()
        if version == self._version and not force:
            return False
        contenders = await self.registry.contenders()
        matchups = registry_matchups(self.models, contenders, self.blind)
        providers = {m.finetuned.name: self.provider_factory(m.finetuned) for name, m in matchups.items()
                     if m.finetuned.name not in self.service.providers}
        providers |= {m.base.name: self.provider_factory(m.base) for m in matchups.values()
                      if m.base.name not in self.service.providers and m.base.name not in providers}
        await self.service.set_registry_matchups(matchups, providers)
        self._version = version
        log.info("registry: %d live contender(s)", len(matchups))
        return True

    async def keep_fresh(self) -> None:
        """Refresh every ``every_s`` seconds, for as long as the process serves; a database hiccup is retried."""
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.refresh()
            except StorageError:
                log.warning("could not read the model registry; will try again")
