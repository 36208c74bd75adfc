"""Committing what must outlive the machine (a campaign's state and CSVs, a study's journal) with git."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def commit(paths: list[Path], message: str) -> None:
    """Commit exactly `paths` in the git repository that holds the first of them (a failure is reported,
    never fatal: the next finished run commits again)."""
    existing = [str(Path(path).resolve()) for path in paths if Path(path).exists()]
    where = Path(existing[0]) if existing else Path.cwd()
    where = where if where.is_dir() else where.parent
    result = subprocess.run(["git", "add", "--", *existing], cwd=where, capture_output=True, text=True)
    if result.returncode == 0:
        result = subprocess.run(["git", "commit", "-q", "-m", message, "--", *existing], cwd=where,
                                capture_output=True, text=True)
    if result.returncode != 0 and "nothing to commit" not in result.stdout + result.stderr:
        print(f"warning: git commit failed: {(result.stderr or result.stdout).strip()}", file=sys.stderr)
