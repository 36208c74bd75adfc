"""Committing a campaign's state survives a git killed mid-commit (issue 31: a stale index.lock)."""

import subprocess

from zoo.commits import commit


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def make_repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "user.name", "test")
    return repo


def test_a_stale_index_lock_is_removed_and_the_commit_made(tmp_path, capsys):
    repo = make_repo(tmp_path)
    (repo / "reports").mkdir()
    (repo / "reports" / "runs.csv").write_text("run_id\nabc\n")
    (repo / ".git" / "index.lock").write_text("")  # left by a git killed mid-commit: no git runs here now
    assert commit([repo / "reports"], "campaign x: a run finished")
    assert "campaign x: a run finished" in git(repo, "log", "--format=%s")
    assert not (repo / ".git" / "index.lock").exists()
    assert "removed a stale" in capsys.readouterr().err


def test_nothing_to_commit_is_no_failure_and_a_real_failure_says_so(tmp_path, capsys):
    repo = make_repo(tmp_path)
    (repo / "a.txt").write_text("a")
    assert commit([repo / "a.txt"], "first")
    assert commit([repo / "a.txt"], "again: nothing changed")
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    (outside / "b.txt").write_text("b")
    assert not commit([outside / "b.txt"], "no repository")
    assert "git commit failed" in capsys.readouterr().err


def test_paths_outside_the_repository_are_left_out_and_the_rest_committed(tmp_path, capsys):
    """Issue 31: `zoo.study --commit --tuned-dir` outside the repository made the whole final commit fail."""
    repo = make_repo(tmp_path)
    (repo / "trials.csv").write_text("number\n0\n")
    elsewhere = tmp_path / "tuned"
    elsewhere.mkdir()
    (elsewhere / "tuned-bigru.toml").write_text("base = 'x'\n")
    assert commit([repo / "trials.csv", elsewhere / "tuned-bigru.toml"], "study s: report")
    assert "trials.csv" in git(repo, "show", "--name-only", "--format=", "HEAD")
    assert "not committed, outside the repository" in capsys.readouterr().err
