"""The SDK's `examples/setting_sources.py` on tether: which sources make the project's `/commit` command appear.

The example runs in the SDK's source tree, whose `.claude/commands/commit.md` it looks for; here
the directory above the ported example gets such a file (and a user command in the run's HOME).
"""

from __future__ import annotations

from tests.sdk_examples.harness import Examples

COMMIT = "---\ndescription: Create a git commit\n---\nCommit the staged changes with a clear message.\n"


def test_setting_sources(examples: Examples) -> None:
    sdk_dir = examples.workdir.parent
    (sdk_dir / ".claude" / "commands").mkdir(parents=True)
    (sdk_dir / ".claude" / "commands" / "commit.md").write_text(COMMIT, encoding="utf-8")
    (examples.home / ".claude" / "commands").mkdir(parents=True)
    (examples.home / ".claude" / "commands" / "standup.md").write_text("Summarise my day.", encoding="utf-8")

    run = examples.run("setting_sources.py", "all", script={"What is 2 + 2?": ["4"]}).check()

    sections = [part for part in run.stdout.split("-" * 50) if "===" in part]
    assert len(sections) == 4, run.report()
    assert run.stdout.count("✓") == 4 and "❌" not in run.stdout, run.report()
    default, disabled, user_only, both = sections
    assert "'commit'" in default and "'standup'" in default
    assert "'commit'" not in disabled and "'standup'" not in disabled
    assert "'commit'" not in user_only and "'standup'" in user_only
    assert "'commit'" in both and "'standup'" in both
