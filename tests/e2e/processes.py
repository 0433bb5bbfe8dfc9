"""Start ``ftarena serve`` as real processes for scale-out and restart tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ECHO_MODELS = """
[arena]
default_matchup = "pair"
rate_limit = 0
stream_interval_s = 0.2
stale_grace_s = 0.5
[models.base-echo]
provider = "echo"
model = "base"
reply = "{prompt} and then it rambles on"
timeout_s = 2
[models.tuned-echo]
provider = "echo"
model = "tuned"
reply = "A clear answer to: {prompt}"
[models.slow-echo]
provider = "echo"
model = "slow"
reply = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
delay_s = 0.5
timeout_s = 2
[matchups.pair]
base = "base-echo"
finetuned = "tuned-echo"
[matchups.slow]
base = "base-echo"
finetuned = "slow-echo"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, database_url: str) -> Path:
    path = folder / "arena.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n' + ECHO_MODELS)
    return path


class Served:
    """One ``ftarena serve`` process; its log goes to a file so a failing test can show it."""

    def __init__(self, config: Path, args: list[str], env: dict[str, str], log: Path) -> None:
        self.health_port = free_port()
        self.log = log
        full_env = {**os.environ, **env, "FTARENA_ARENA__HEALTH_PORT": str(self.health_port)}
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
            full_env.pop(proxy, None)
        self._out: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "--config", str(config), "--log-format", "json", "serve", *args],
            stdout=self._out, stderr=subprocess.STDOUT, env=full_env, cwd=Path(__file__).resolve().parents[2])

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"ftarena serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=1, trust_env=False).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"ftarena serve not ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when a machine dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._out.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._out.close()


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port}")
