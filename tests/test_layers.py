"""The layering rules (.importlinter): catalog/ is the core and imports no adapter or
framework; actions/ and bot/ reach the database only through catalog's services, read
models and unit of work; the web server does not import the actions; services and the
domain return outcomes and never the words people read."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_layering_contracts_are_kept():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--config", ".importlinter",
                             "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "5 kept, 0 broken" in result.stdout
