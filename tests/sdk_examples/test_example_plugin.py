"""The SDK's `examples/plugin_example.py` on tether: the demo plugin is loaded and listed in `init`."""

from __future__ import annotations

import shutil

from tests.sdk_examples.harness import Examples


def test_plugin_example(examples: Examples) -> None:
    ported_dir = examples.ported("plugin_example.py").parent
    shutil.copytree(examples.source / "plugins", ported_dir / "plugins")  # the plugin the example loads

    run = examples.run("plugin_example.py", script={"Hello!": ["Hello! How can I help?"]}).check()

    plugin_path = ported_dir / "plugins" / "demo-plugin"
    assert f"Loading plugin from: {plugin_path}" in run.stdout
    assert f"Plugins loaded:\n  - demo-plugin (path: {plugin_path})\n" in run.stdout, run.report()
    assert "Plugin successfully configured!" in run.stdout
    assert "'slash_commands'" in run.stdout and "'plugins'" in run.stdout
