#!/usr/bin/env bash
# The whole test suite: formatting, lint, strict types, then pytest (SQLite always; PostgreSQL
# and Redis when reachable, and required when CI is set).
source "$(dirname "$0")/_venv.sh"
echo "== ruff format --check" >&2
.venv/bin/ruff format --check mcp_server tools auth connectors demo benchmarks tests
echo "== ruff check" >&2
.venv/bin/ruff check mcp_server tools auth connectors demo benchmarks tests
echo "== mypy --strict" >&2
.venv/bin/mypy
echo "== pytest" >&2
# Compiled modules and rewritten test modules cached for every process of the run (the workers
# and the servers, CLIs and benchmarks the tests start) instead of compiled again in each: with
# PYTHONDONTWRITEBYTECODE set, as on this machine, each worker compiled every test module anew.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-$ROOT/.venv/pycache}"
# Four workers on two cores: most of the suite's time is waiting (real rate limits, retries,
# subprocess and Node start-ups), not computing. tests/conftest.py says how tests are grouped.
exec .venv/bin/python -m pytest -q -rs -n "${ASSTIO_TEST_WORKERS:-4}" --dist loadgroup "$@"
