"""Durable turns (DESIGN.md §10): one turn is one DBOS workflow; model and tool calls are its steps.

Imported only when a turn runs with `AgentOptions(durable=...)` or a worker starts (`tether worker`):
a plain run never imports DBOS. See `tether.durable.turns` (the workflow), `tether.durable.steps`
(model and tool calls as steps), `tether.durable.subagents` (an Agent call as a child workflow),
`tether.durable.ledger` (entries written once),
`tether.durable.worker` (taking over the turns of dead workers) and `tether.durable.engine`
(DBOS's configuration and launch).
"""
