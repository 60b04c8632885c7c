"""The lines both sync benchmarks print: a run's figures against the connector's rate limit, and
the machine they were measured on."""

from __future__ import annotations

import platform
from typing import Any

import sqlalchemy as sa


def run_line(
    name: str, objects: int, requests: int, seconds: float, limited_rate: float, *, width: int, digits: int
) -> str:
    """Objects, requests, seconds, requests per second, and the seconds the run would take at
    ``limited_rate`` requests per second (the connector's default limit)."""
    estimate = max(seconds, requests / limited_rate)
    rate = requests / seconds
    return f"{name:<{width}} {objects:>7} {requests:>9} {seconds:>8.{digits}f} {rate:>6.1f} {estimate:>10.0f}"


def machine_line(rate_limit: Any) -> str:
    return (
        f"client limit {rate_limit}; machine: {platform.platform()}, {platform.machine()}, Python "
        f"{platform.python_version()}, SQLAlchemy {sa.__version__}"
    )
