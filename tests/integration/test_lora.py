"""The llama.cpp provider applies LoRA adapters: a tiny random adapter, written here for the embedded
SmolLM2 base, changes its greedy reply at scale 1 and leaves it exactly alone at scale 0; a missing or
broken adapter file becomes a short ModelUnavailableError instead of a crash."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain import GenerationParams, Model
from bot.errors import ModelUnavailableError
from bot.providers.embedded import resolve_model_path
from bot.providers.llamacpp import LlamaCppProvider
from tests.support.lora import write_lora_adapter

pytestmark = pytest.mark.slow

BASE = "embedded:smollm2-135m-instruct"
PROMPT = "What do you think of Mars?"
GREEDY = GenerationParams(max_tokens=8, temperature=0.0)


def _model(**options: str | float) -> Model:
    return Model(name="smollm2-lora", provider="llamacpp", model=BASE, template="chat", params=GREEDY,
                 options={"n_ctx": 512, **options})


async def _generate(model: Model) -> str:
    provider = LlamaCppProvider(model)
    try:
        reply = await provider.generate(PROMPT, GREEDY)
    finally:
        await provider.aclose()
    assert reply.error is None
    return reply.text


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Reading the base's tensor table takes a couple of seconds, so the module shares one adapter.
    out = tmp_path_factory.mktemp("lora") / "random-lora.gguf"
    return write_lora_adapter(resolve_model_path(BASE), out)


@pytest.fixture(scope="module")
def base_text() -> str:
    return asyncio.run(_generate(_model()))


def test_adapter_file_is_small_and_a_gguf(adapter: Path) -> None:
    with adapter.open("rb") as f:
        assert f.read(4) == b"GGUF"
    assert adapter.stat().st_size < 8_000_000


async def test_adapter_at_scale_one_changes_the_greedy_reply(adapter: Path, base_text: str) -> None:
    adapted = await _generate(_model(lora_path=str(adapter), lora_scale=1.0))
    assert base_text.strip() and adapted.strip()
    assert adapted != base_text


async def test_adapter_at_scale_zero_gives_exactly_the_base_reply(adapter: Path, base_text: str) -> None:
    assert await _generate(_model(lora_path=str(adapter), lora_scale=0.0)) == base_text


async def _expect_unavailable(lora_path: Path) -> str:
    """Generate with the adapter at ``lora_path``; it must raise ModelUnavailableError. Its user message."""
    provider = LlamaCppProvider(_model(lora_path=str(lora_path), lora_scale=1.0))
    try:
        with pytest.raises(ModelUnavailableError) as caught:
            await provider.generate(PROMPT, GREEDY)
    finally:
        await provider.aclose()
    return caught.value.user_message


def _assert_short_and_clean(message: str) -> None:
    assert 0 < len(message) <= 200 and "\n" not in message
    assert "Traceback" not in message and 'File "' not in message and ".py" not in message


async def test_missing_adapter_is_a_short_provider_error(tmp_path: Path) -> None:
    message = await _expect_unavailable(tmp_path / "missing.gguf")
    _assert_short_and_clean(message)
    assert message == "The LoRA adapter file is missing."  # says which file, and no "server" in a local run


# llama-cpp-python 0.3.36 checks ``llama_adapter_lora_init(...) is None``, but ctypes hands back a NULL
# POINTER object (falsy, never None) when the adapter does not load, so the first decode would segfault;
# the provider checks for it. A child process keeps a regression from killing the whole test run.
_CHILD = """
import asyncio, json, sys
from pathlib import Path
from tests.integration.test_lora import _expect_unavailable
print(json.dumps(asyncio.run(_expect_unavailable(Path(sys.argv[1])))))
"""


@pytest.mark.parametrize("kind", ["not-gguf", "truncated"])
def test_broken_adapter_is_a_short_provider_error(kind: str, adapter: Path, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.gguf"
    if kind == "not-gguf":
        path.write_bytes(b"this is not a GGUF file\n" * 64)
    else:
        data = adapter.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    # In a child process, so that a crash inside llama.cpp fails this test instead of killing the run.
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run([sys.executable, "-c", _CHILD, str(path)], cwd=root, capture_output=True, text=True,
                           timeout=120, check=False)
    assert child.returncode == 0, f"child exited with {child.returncode}: {child.stderr[-2000:]}"
    _assert_short_and_clean(json.loads(child.stdout.strip().splitlines()[-1]))
