"""The real service as a subprocess: start, wait for /readyz, create tokens with the CLI, RSS, stop."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import psutil


@dataclass
class Server:
    """A running ``uvicorn api.app:create_app`` process."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_handle: IO[bytes]
    startup_seconds: float = 0.0

    @property
    def base_url(self) -> str:
        """Root URL of the service."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(port: int) -> list[str]:
    """The command line that starts the service."""
    return [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port)]


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_server(env: dict[str, str], cwd: Path, log_path: Path, *, timeout: float = 600.0) -> Server:
    """Start the server and wait until GET /readyz answers 200 (or fail with the server log's tail)."""
    port = free_port()
    log_handle = open(log_path, "wb")  # noqa: SIM115 (closed by stop_server; outlives this function)
    started = time.perf_counter()
    process = subprocess.Popen(server_command(port), cwd=cwd, env=env, stdout=log_handle, stderr=subprocess.STDOUT)
    server = Server(process, port, log_path, log_handle)
    deadline = started + timeout
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                stop_server(server)
                raise RuntimeError(f"server exited with {process.returncode}:\n{_log_tail(log_path)}")
            try:
                if client.get("/readyz").status_code == 200:
                    server.startup_seconds = time.perf_counter() - started
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    stop_server(server)
    raise TimeoutError(f"server not ready after {timeout:.0f} s:\n{_log_tail(log_path)}")


def stop_server(server: Server, *, timeout: float = 30.0) -> None:
    """Terminate the server we started (SIGTERM, then SIGKILL) and close its log."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    server.log_handle.close()


def create_token(env: dict[str, str], cwd: Path, *, role: str, name: str) -> str:
    """``python -m kb.cli token create``; the token is the last line of its stdout."""
    completed = subprocess.run(
        [sys.executable, "-m", "kb.cli", "token", "create", "--role", role, "--name", name],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"token create failed ({completed.returncode}): {completed.stderr.strip()}")
    return lines[-1]


def rss_bytes(pid: int) -> int:
    """Resident set size of a process and its children."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return int(total)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)
