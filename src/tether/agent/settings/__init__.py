"""Claude Code's own files, read as Claude Code reads them: settings.json, CLAUDE.md memory,
subagents (`.claude/agents`), slash commands (`.claude/commands`), skills (`.claude/skills`) and
local plugins.

`setting_sources` picks where: `user` (`~/.claude/`, or `$CLAUDE_CONFIG_DIR`), `project`
(`<cwd>/.claude/`, and CLAUDE.md files from cwd up), `local` (`.claude/settings.local.json`,
CLAUDE.local.md). None reads all three, as the Claude Agent SDK does (only `user` and `project`
when `skills` is set); `[]` reads none. The `settings` option (inline JSON or a file) and
`plugins` are read whatever the sources.

```python
settings = ClaudeSettings.load(options, cwd)   # ConfigurationError naming file and line if malformed
options = settings.apply(options)              # rules, hooks, env, model, agents, memory added
```
"""

from tether.agent.settings.loader import SETTING_SOURCES, SKILLS_ALL, ClaudeSettings, effective_sources
from tether.agent.settings.settings_file import HONOURED_KEYS

__all__ = ["HONOURED_KEYS", "SETTING_SOURCES", "SKILLS_ALL", "ClaudeSettings", "effective_sources"]
