"""The production server loads no demo and no benchmark code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# What `asstio-mcp serve` runs (the CLI, its settings, the app of `mcp_server.asgi`), in a
# fresh interpreter; prints the top-level packages it loaded.
SERVE_PATH = """
import json, sys
import mcp_server.cli
import mcp_server.asgi
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_serve_with_a_production_configuration_imports_no_demo_or_benchmark_code(tmp_path: Path) -> None:
    config = tmp_path / "asstio.toml"
    config.write_text(
        'public_url = "https://mcp.example.com"\n'
        'issuers = ["https://idp.example.com"]\n'
        'audience = "asstio"\n'
        f'[tenants]\nacme = "sqlite:///{tmp_path / "acme.db"}"\n'
    )
    env = os.environ | {"ASSTIO_CONFIG": str(config)}
    ran = subprocess.run(
        [sys.executable, "-c", SERVE_PATH], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr
    loaded = set(json.loads(ran.stdout))
    assert {"mcp_server", "tools", "auth"} <= loaded
    assert not loaded & {"demo", "benchmarks"}
