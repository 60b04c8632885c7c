#!/usr/bin/env bash
# Start the demo: two generated tenants, a development token issuer, MCP at /mcp, REST at /api/v1.
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/asstio-mcp demo "$@"
