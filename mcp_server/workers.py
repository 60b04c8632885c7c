"""``asstio-mcp serve --workers N``: N worker processes, each accepting connections on a
listening socket of its own, bound with ``SO_REUSEPORT`` so that the kernel spreads new
connections over the workers.

Uvicorn's own workers share one listening socket, and whichever wakes first accepts a whole
burst of connections: with 8 kept-alive connections (an assistant's client keeps its
connection), one of two workers was seen holding all 8 in one bench slice of four, and the
other idle. Here each worker has its own accept queue.

The parent starts the workers (``spawn``, as uvicorn does), starts a new one in place of one
that exits, stops all of them on SIGTERM or SIGINT (each ends as ``uvicorn`` does: it stops
accepting and finishes the requests it has), and gives up when a worker cannot start at all.
Where the system has no ``SO_REUSEPORT``, uvicorn's workers serve instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("asstio.serve")
# A worker that exits is replaced after this pause (one that keeps failing does not spin).
RESTART_PAUSE_SECONDS = 1.0
# How long the workers get to finish their requests after SIGTERM before they are killed.
STOP_SECONDS = 30.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` beside the other workers' (``SO_REUSEPORT``)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(options: dict[str, Any]) -> None:
    config = uvicorn.Config(**options)
    try:
        sock = listening_socket(config.host, config.port)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def serve_workers(options: dict[str, Any], workers: int) -> None:
    """Serve ``options["app"]`` (an import string) with ``uvicorn.Config(**options)`` in
    ``workers`` processes until SIGTERM or SIGINT."""
    if not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(workers=workers, **options)
        return
    context = multiprocessing.get_context("spawn")
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: stopping.append(received))

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(options,), name="asstio-worker")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    failed = False
    while not stopping and not failed:
        time.sleep(0.2)
        for index, process in enumerate(processes):
            if process.is_alive() or stopping:
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker %s could not start; stopping", process.pid)
                failed = True
                break
            log.warning("worker %s exited (code %s); starting another", process.pid, process.exitcode)
            time.sleep(RESTART_PAUSE_SECONDS)
            processes[index] = start()
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: the worker stops accepting and finishes its requests
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    if failed:
        raise SystemExit(STARTUP_FAILURE)
