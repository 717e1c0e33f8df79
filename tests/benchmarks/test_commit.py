"""run_all.commit_of: which code a benchmark run measured, in a checkout and in an exported copy.

Runs are made from copies (``git archive HEAD | tar -x``) so that work on the checkout does not
change the code under measurement; such a copy has no .git, and the commit comes from the file
``git archive`` fills in (.gitattributes: export-subst).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import report  # noqa: E402
import run_all  # noqa: E402


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _repo(tmp_path: Path) -> tuple[Path, str]:
    """A repository with the project's export-subst rule and file, one commit."""
    repo = tmp_path / "repo"
    (repo / "benchmarks").mkdir(parents=True)
    (repo / ".gitattributes").write_text((ROOT / ".gitattributes").read_text())
    (repo / "benchmarks" / "EXPORTED_FROM").write_text((ROOT / "benchmarks" / "EXPORTED_FROM").read_text())
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "-m", "one")
    return repo, _git(repo, "rev-parse", "HEAD")


def test_a_checkout_gives_its_head_and_says_when_it_has_changes(tmp_path: Path) -> None:
    repo, head = _repo(tmp_path)
    assert run_all.commit_of(repo) == head
    (repo / "benchmarks" / "new.py").write_text("x = 1\n")
    assert run_all.commit_of(repo) == head + "+uncommitted"


def test_an_exported_copy_gives_the_commit_git_archive_wrote(tmp_path: Path) -> None:
    repo, head = _repo(tmp_path)
    copy = tmp_path / "copy"
    copy.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=repo, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
    assert run_all.commit_of(copy) == f"{head} (exported)"
    assert report._commit(run_all.commit_of(copy)) == f"{head[:10]} (exported)"


def test_a_copy_without_the_filled_in_file_has_no_commit(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path)
    copy = tmp_path / "copy"
    (copy / "benchmarks").mkdir(parents=True)
    (copy / "benchmarks" / "EXPORTED_FROM").write_text((repo / "benchmarks" / "EXPORTED_FROM").read_text())
    assert run_all.commit_of(copy) == ""  # copied by hand: the placeholder, not a commit
    assert report._commit("") == "?"
    assert report._commit("0123456789abcdef+uncommitted") == "0123456789+uncommitted"
