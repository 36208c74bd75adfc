"""Committing what must outlive the machine (a campaign's state and CSVs, a study's journal) with git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def commit(paths: list[Path], message: str) -> bool:
    """Commit exactly `paths` in the git repository that holds the first of them; True when the commit
    was made or there was nothing to commit. A failure is reported, never fatal: the next finished run
    (or the next command, which commits what is uncommitted first) commits again. A stale index lock
    (its git killed mid-commit) is removed, saying so; one held by a live git is waited for once."""
    existing = [Path(path).resolve() for path in paths if Path(path).exists()]
    where = existing[0] if existing else Path.cwd()
    where = where if where.is_dir() else where.parent
    top = _worktree(where)
    outside = [path for path in existing if _worktree(path if path.is_dir() else path.parent) != top]
    if outside:  # e.g. a study's --tuned-dir elsewhere: the rest is still committed
        print(f"note: not committed, outside the repository at {top}: {', '.join(map(str, outside))}", file=sys.stderr)
    existing = [str(path) for path in existing if path not in outside]
    for attempt in range(2):
        result = _git_commit(existing, message, where)
        if result.returncode == 0 or "nothing to commit" in result.stdout + result.stderr:
            return True
        lock = _index_lock(where)
        if attempt or lock is None or not lock.exists():
            break
        if _git_running_in(_worktree(where)):
            import time

            time.sleep(5)  # a live git (the user's, another campaign's): let it finish
        else:
            lock.unlink(missing_ok=True)
            print(f"note: removed a stale {lock} (no git process was running in this repository)", file=sys.stderr)
    print(f"warning: git commit failed: {(result.stderr or result.stdout).strip()}", file=sys.stderr)
    return False


def _git_commit(paths: list[str], message: str, where: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", "add", "--", *paths], cwd=where, capture_output=True, text=True)
    if result.returncode != 0:
        return result
    return subprocess.run(["git", "commit", "-q", "-m", message, "--", *paths], cwd=where, capture_output=True, text=True)


def _index_lock(where: Path) -> Path | None:
    result = subprocess.run(["git", "rev-parse", "--git-path", "index.lock"], cwd=where, capture_output=True, text=True)
    return (where / result.stdout.strip()).resolve() if result.returncode == 0 else None


def _worktree(where: Path) -> Path:
    result = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=where, capture_output=True, text=True)
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 else where.resolve()


def _git_running_in(worktree: Path) -> bool:
    """Whether a git process works in `worktree` now (Linux: from /proc; elsewhere assume one does)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "comm").read_text().strip() != "git":
                continue
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == worktree or worktree in cwd.parents:
            return True
    return False
