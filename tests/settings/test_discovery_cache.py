"""Settings discovery is read once per process and read again when a file it consulted changes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from tests.settings.helpers import write, write_json

from tether import AgentOptions
from tether.agent.settings import ClaudeSettings
from tether.agent.settings.discovery import discovery_cache
from tether.errors import ConfigurationError


def load(project: Path, **options: object) -> ClaudeSettings:
    return ClaudeSettings.load(AgentOptions(cwd=project, **options), project)  # type: ignore[arg-type]


def test_an_unchanged_tree_is_read_once(project: Path, claude_home: Path) -> None:
    write_json(project / ".claude" / "settings.json", {"permissions": {"allow": ["Read"]}})
    write(project / "CLAUDE.md", "Answer in French.")
    write(claude_home / "commands" / "review.md", "Review the diff.")
    before = discovery_cache.reads
    first, second = load(project), load(project)
    assert discovery_cache.reads == before + 1
    assert first.memory_text == second.memory_text and "Answer in French." in (first.memory_text or "")
    assert list(first.slash_commands) == list(second.slash_commands) == ["review"]
    first.files.append(first.files[0])  # each load gets its own containers
    assert len(load(project).files) == 1


def test_a_settings_file_changed_between_two_loads_is_seen(project: Path) -> None:
    settings = project / ".claude" / "settings.json"
    write_json(settings, {"permissions": {"allow": ["Read"]}})
    assert load(project).apply(AgentOptions()).allowed_tools == ["Read"]
    write_json(settings, {"permissions": {"allow": ["Read", "Grep"]}})
    assert load(project).apply(AgentOptions()).allowed_tools == ["Read", "Grep"]


def test_a_new_claude_md_above_the_project_is_seen(project: Path) -> None:
    assert load(project).memory_text is None
    write(project.parent / "CLAUDE.md", "Keep answers short.")
    assert "Keep answers short." in (load(project).memory_text or "")


def test_a_new_command_in_a_nested_directory_and_a_removed_skill_are_seen(project: Path) -> None:
    write(project / ".claude" / "skills" / "pdf" / "SKILL.md", "---\ndescription: PDFs\n---\nRead PDFs.")
    (project / ".claude" / "commands" / "git").mkdir(parents=True)
    assert "pdf" in load(project).skills and "commit" not in load(project).commands
    write(project / ".claude" / "commands" / "git" / "commit.md", "Commit the work.")
    (project / ".claude" / "skills" / "pdf" / "SKILL.md").unlink()
    reloaded = load(project)
    assert "commit" in reloaded.commands and "pdf" not in reloaded.skills


def test_an_imported_memory_file_that_changes_is_seen(project: Path) -> None:
    write(project / "CLAUDE.md", "See @notes.md")
    write(project / "notes.md", "Tabs.")
    assert "Tabs." in (load(project).memory_text or "")
    write(project / "notes.md", "Spaces, four.")
    assert "Spaces, four." in (load(project).memory_text or "")


def test_a_malformed_file_is_named_on_every_load_until_fixed(project: Path) -> None:
    settings = write(project / ".claude" / "settings.json", "{ not json")
    for _ in range(2):
        with pytest.raises(ConfigurationError, match=r"settings\.json"):
            load(project)
    write_json(settings, {"permissions": {"deny": ["Bash"]}})
    assert load(project).apply(AgentOptions()).disallowed_tools == ["Bash"]


def test_the_sources_asked_for_are_kept_apart(project: Path) -> None:
    write(project / "CLAUDE.local.md", "Mine only.")
    assert "Mine only." in (load(project).memory_text or "")
    assert load(project, setting_sources=["project"]).memory_text is None


def settle(*directories: Path) -> None:
    """Date the directories an hour back: old enough to answer for the missing paths under them."""
    for directory in directories:
        os.utime(directory, (time.time() - 3600, time.time() - 3600))


def test_a_missing_file_is_seen_once_created_under_a_settled_directory(project: Path, claude_home: Path) -> None:
    settle(project, project.parent, claude_home)
    assert load(project).memory_text is None
    reads = discovery_cache.reads
    assert load(project).memory_text is None and discovery_cache.reads == reads  # nothing changed, nothing read
    write(project / "CLAUDE.local.md", "Mine only.")
    assert "Mine only." in (load(project).memory_text or "")
    write(claude_home / "CLAUDE.md", "Be brief.")
    assert "Be brief." in (load(project).memory_text or "")


def test_a_settled_directory_changed_for_another_file_is_not_read_again(project: Path) -> None:
    settle(project, project.parent)
    load(project)
    reads = discovery_cache.reads
    write(project / "main.py", "print('hi')")  # the project directory changed, no candidate appeared
    assert load(project).memory_text is None and discovery_cache.reads == reads


def test_a_directory_created_under_a_settled_one_then_a_file_in_it_are_seen(project: Path) -> None:
    settle(project, project.parent)
    assert load(project).memory_text is None
    (project / ".claude").mkdir()
    settle(project / ".claude", project)  # as if created long ago: the file in it still counts
    assert load(project).memory_text is None
    write(project / ".claude" / "CLAUDE.md", "From the .claude directory.")
    assert "From the .claude directory." in (load(project).memory_text or "")
