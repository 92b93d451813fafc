"""Running code in a fresh interpreter: for what a process loads, or leaves unloaded, from its start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_fresh(code: str) -> str:
    """The standard output of `python -c code` with only this checkout on the path; fails the test on an error."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
