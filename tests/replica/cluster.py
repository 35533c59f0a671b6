"""A throwaway PostgreSQL primary and its streaming replica, from Debian's server binaries:
initdb a primary on a free port (wal_level=replica), pg_basebackup -R a replica of it onto
another, start both. A few seconds; nothing touches the server on 5432.

PostgreSQL refuses to run as root: as root, the servers run as the `postgres` user."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    root: Path
    bin: Path
    primary_port: int
    replica_port: int

    def url(self, port: int, name: str = "qihu") -> str:
        return f"postgres://root@127.0.0.1:{port}/{name}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=60)  # noqa: S603

    def start(self) -> None:
        primary, replica = self.root / "primary", self.root / "replica"
        self._run(str(self.bin / "initdb"), "-D", str(primary), "-U", "root", "--auth=trust", "-N")
        settings = (
            f"port = {self.primary_port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\n"
            "wal_level = replica\n"
            "max_wal_senders = 4\n"
            # A test cluster: no durability, small and quick.
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "shared_buffers = 32MB\n"
        )
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(settings)
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(primary),
            "-l",
            str(self.root / "primary.log"),
            "-w",
            "start",
        )
        self._run(
            str(self.bin / "pg_basebackup"),
            "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "root",
            "-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast",
        )  # fmt: skip
        with open(replica / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.replica_port}\nhot_standby = on\n")
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(replica),
            "-l",
            str(self.root / "replica.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        for name in ("replica", "primary"):
            data = self.root / name
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")


def start_cluster() -> Cluster:
    binaries = server_binaries()
    assert binaries is not None
    root = Path(tempfile.mkdtemp(prefix="qihu-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(root, binaries, _free_port(), _free_port())
    started = time.monotonic()
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    cluster.started_in = time.monotonic() - started  # type: ignore[attr-defined]
    return cluster
