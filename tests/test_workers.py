"""``serve --workers N``: each worker accepts connections on a socket of its own, so kept-alive
connections spread over the workers instead of piling onto the first to wake; SIGTERM stops them
all. Served as ``asstio-mcp serve --workers`` serves (``mcp_server.workers``), through the
bench's server command, with real connections; which worker holds which connection is read from
``/proc``."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from benchmarks.doors import served

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads the connections from /proc")
CONNECTIONS = 16  # all on one of two workers by chance: 2 in 65,536


def workers_of(parent: int) -> list[int]:
    """The worker processes of ``serve_workers`` (not multiprocessing's resource tracker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return sorted(found)


ESTABLISHED, LISTENING = "01", "0A"  # TCP states as /proc/net/tcp writes them


def sockets_of(pid: int, port: int, state: str) -> int:
    """How many sockets on local ``port`` in ``state`` the process ``pid`` holds."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(f"socket:[{fields[9]}]")
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            held += os.readlink(fd) in inodes
        except OSError:
            continue
    return held


async def kept_alive(url: str, count: int) -> tuple[list[asyncio.StreamWriter], list[bytes]]:
    """``count`` connections, each having had one keep-alive request answered."""
    host, port = url.removeprefix("http://").split(":")
    opened = [await asyncio.open_connection(host, int(port)) for _ in range(count)]
    answers = []
    for reader, writer in opened:
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        answers.append(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10))
    return [writer for _, writer in opened], answers


def test_two_workers_each_accept_connections_of_their_own_and_stop_on_sigterm(
    sqlite_tenants: dict[str, str], tmp_path: Path
) -> None:
    with served(sqlite_tenants["demo"], tmp_path, workers=2) as server:
        port = int(server.url.rsplit(":", 1)[1])
        workers = workers_of(server.process.pid)
        assert len(workers) == 2
        deadline = time.monotonic() + 60  # /readyz answered as soon as one worker listened
        while not all(sockets_of(pid, port, LISTENING) for pid in workers):
            assert time.monotonic() < deadline, "a worker never listened"
            time.sleep(0.2)

        async def check() -> None:
            writers, answers = await kept_alive(server.url, CONNECTIONS)
            try:
                assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
                held = {pid: sockets_of(pid, port, ESTABLISHED) for pid in workers}
                assert sum(held.values()) == CONNECTIONS and all(held.values()), held
            finally:
                for writer in writers:
                    writer.close()

        asyncio.run(check())
    assert server.process.returncode == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # stopped with the parent
