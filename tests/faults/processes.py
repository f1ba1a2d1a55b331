"""Countersign and Redis as real processes, for tests that kill them.

`ServerProcess` runs `countersign serve` exactly as the Procfile does, with its Slack pointed
at a fake Slack in the test process; `kill()` is SIGKILL. `SentinelCluster` runs a primary,
a replica and three sentinels on loopback.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "faults-signing-secret"


class ServerProcess:
    """`countersign serve` in a subprocess; start it again after a kill with `start()`."""

    def __init__(self, redis_url: str, slack_api_url: str, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "SLACK_BOT_TOKEN": "xoxb-faults",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api_url,
            "COUNTERSIGN_CONFIG": str(ROOT / "config"),
            "COUNTERSIGN_GRANT_KEY_FILE": str(workdir / "grant.pem"),
            "COUNTERSIGN_SWEEP_INTERVAL": "0.2",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        countersign = shutil.which("countersign", path=str(Path(sys.executable).parent))
        with (self.workdir / f"server-{self.port}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [countersign or "countersign", "serve"],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"countersign serve exited: {self.log_tail()}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await _sleep(0.1)
        raise RuntimeError(f"countersign serve not ready in {timeout} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, like a crashed host."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def log_tail(self) -> str:
        logs = sorted(self.workdir.glob(f"server-{self.port}.log"))
        return logs[0].read_text(errors="replace")[-3000:] if logs else ""


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


class SentinelCluster:
    """A primary, one replica and three sentinels watching service `countersign`."""

    SERVICE = "countersign"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.primary = RedisServer(_mkdir(workdir / "primary"))
        self.replica = RedisServer(_mkdir(workdir / "replica"))
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.SERVICE}/0"

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        _redis_cli(self.replica.port, "REPLICAOF", "127.0.0.1", str(self.primary.port))
        for port in self.sentinel_ports:
            config = self.workdir / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
                f"sentinel failover-timeout {self.SERVICE} 5000\n"
                f"sentinel parallel-syncs {self.SERVICE} 1\n"
            )
            with (self.workdir / f"sentinel-{port}.log").open("ab") as log:
                self.sentinels.append(
                    subprocess.Popen(
                        [self.primary.binary or "redis-server", str(config), "--sentinel"],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        for port in self.sentinel_ports:
            _wait_for_port(port)
        self._wait_until_replicating()

    def _wait_until_replicating(self, timeout: float = 30.0) -> None:
        """A healthy cluster to start from: the replica has finished its first sync."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "master_link_status:up" in _redis_cli(self.replica.port, "INFO", "replication"):
                return
            time.sleep(0.1)
        raise RuntimeError("the replica did not finish syncing with the primary")

    def primary_port(self) -> int:
        """The port the sentinels currently name as primary."""
        reply = _redis_cli(
            self.sentinel_ports[0], "SENTINEL", "get-master-addr-by-name", self.SERVICE
        )
        return int(reply.split()[-1])

    def stop(self) -> None:
        for process in self.sentinels:
            process.terminate()
            process.wait(timeout=10)
        self.primary.stop()
        self.replica.stop()


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _redis_cli(port: int, *args: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        command = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
        sock.sendall(command.encode())
        time.sleep(0.1)
        return sock.recv(4096).decode(errors="replace")


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")
