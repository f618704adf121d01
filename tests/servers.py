"""Run the real service in a subprocess for multi-process tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_command(port: int, workers: int = 1) -> list[str]:
    """The command that runs the real service on 127.0.0.1:``port``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def service_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a service or CLI process on ``data_dir``."""
    return {
        **os.environ,
        "KB_DATA_DIR": str(data_dir),
        "KB_IMPORT_CONTENT_ON_FIRST_START": "false",
        "KB_INDEX_POLL_SECONDS": "0.05",
        **extra,
    }


class Server:
    """`uvicorn api.app:create_app` in a subprocess."""

    def __init__(self, data_dir: Path, *, workers: int = 1, log_path: Path | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or data_dir.parent / f"server-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = uvicorn_command(self.port, workers)
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop/kill)
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=service_env(data_dir, **env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for /readyz to answer 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout}s: {self.log_path.read_text()}")

    def kill(self) -> None:
        """kill -9 the whole process group (a crash)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        """Graceful shutdown."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log(self) -> str:
        """Everything the server printed."""
        return self.log_path.read_text()


def create_token(data_dir: Path, role: str, name: str, **env: str) -> str:
    """`kb token create` and return the token from its last line."""
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", "token", "create", "--role", role, "--name", name],
        cwd=REPO,
        env=service_env(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]
