"""The scanner's memory of its last walk (unchanged files, parsed `.gitignore`s, ignore decisions)
never changes what a scan finds: after each change to a workspace, a scanner that has walked it
before sees exactly what a new scanner sees."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pytest

from tether.sessions.workspace.tree import Scanner

LONG_AGO = iter(count(1_000_000_000, 1000))  # distinct old mtimes: every file is cached by the index


def age(root: Path) -> None:
    """Give every path under `root` changed since the last call its own old mtime (nothing is
    racy, every file is indexed; the untouched ones keep theirs, so the scanner's memory is used)."""
    for path in [root, *root.rglob("*")]:
        if path.lstat().st_mtime > 1_500_000_000:
            when = next(LONG_AGO)
            os.utime(path, (when, when), follow_symlinks=False)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def seed(root: Path) -> None:
    write(root, ".gitignore", "build/\n*.log\n")
    for package in ("a", "b", "c/deep"):
        for index in range(5):
            write(root, f"{package}/m{index}.py", f"x = {index}\n")
    write(root, "build/out.o", "object\n")
    write(root, "a/trace.log", "log\n")


def move_a_file(root: Path) -> None:
    (root / "a/m0.py").rename(root / "b/moved.py")


def file_to_directory(root: Path) -> None:
    (root / "a/m1.py").unlink()
    write(root, "a/m1.py/inside.txt", "now a directory\n")


def directory_to_file(root: Path) -> None:
    shutil.rmtree(root / "c/deep")
    write(root, "c/deep", "now a file\n")


def link(root: Path) -> None:
    (root / "b/link").symlink_to("m2.py")


STEPS: list[Callable[[Path], None]] = [
    lambda root: write(root, "a/m2.py", "x = 'edited, longer'\n"),
    lambda root: (root / "b/m3.py").unlink(),
    move_a_file,
    file_to_directory,
    directory_to_file,
    lambda root: shutil.rmtree(root / "c"),
    lambda root: (root / "empty").mkdir(),
    link,
    lambda root: write(root, ".gitignore", "build/\n*.log\nb/\n"),  # a whole directory ignored now
    lambda root: write(root, ".gitignore", "*.log\n"),  # and build/ no longer
    lambda root: write(root, "a/.gitignore", "m4.py\n"),  # rules in a subdirectory
    lambda root: (root / "a/.gitignore").unlink(),
    lambda root: write(root, "a/m4.py", "x = 'same size'\n"[: len("x = 4\n")]),
]


@pytest.mark.parametrize("ignore", [(), ("*.txt",)])
def test_a_scanner_that_walked_before_sees_what_a_new_one_sees(tmp_path: Path, ignore: tuple[str, ...]) -> None:
    root = tmp_path / "work"
    seed(root)
    age(root)
    scanner = Scanner(root, ignore=ignore)
    scanner.scan()
    for step in STEPS:
        step(root)
        age(root)
        again, fresh = scanner.scan(), Scanner(root, ignore=ignore).scan()
        assert again.tree == fresh.tree, step
        assert sorted(again.skipped) == sorted(fresh.skipped), step
        assert scanner.scan().tree == fresh.tree  # and once more, everything now from its memory


def test_an_unchanged_workspace_is_not_read_again(tmp_path: Path) -> None:
    root = tmp_path / "work"
    seed(root)
    age(root)
    scanner = Scanner(root)
    first = scanner.scan()
    assert len(first.contents) == len({node.hash for node in first.tree.values()})
    second = scanner.scan()
    assert second.tree == first.tree and second.contents == {}
    write(root, "b/m0.py", "x = 'changed'\n")
    age(root)
    third = scanner.scan()
    assert list(third.contents.values()) == [b"x = 'changed'\n"]


def test_the_saved_index_is_rewritten_only_for_files_indexed_anew(tmp_path: Path) -> None:
    from tether.sessions.workspace.tree import index_file_for

    root = tmp_path / "work"
    for index in range(100):
        write(root, f"src/m{index}.py", f"x = {index}\n")
    age(root)
    index_file = index_file_for(root, tmp_path / "home")
    scanner = Scanner(root, index_file=index_file)
    scanner.scan()
    os.utime(index_file, (1_000_000_000, 1_000_000_000))  # a save would make it new
    for index in range(100):  # a burst of edits: modified moments ago, read at every scan, not indexed
        write(root, f"gen/g{index}.py", f"y = {index}\n")
    assert len(scanner.scan().contents) == 100 and len(scanner.scan().contents) == 100
    assert index_file.stat().st_mtime == 1_000_000_000
    age(root)  # now safe to index: the next scan indexes them and saves
    assert len(scanner.scan().contents) == 100
    assert index_file.stat().st_mtime > 1_500_000_000
    assert Scanner(root, index_file=index_file).scan().contents == {}  # a new process reads nothing
