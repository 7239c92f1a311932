"""The ground floor: the Claude Agent SDK's plain type vocabulary (hook, permission and store types,
option literals), with no tether imports but `tether.errors`. `tether.types` re-exports it; every
other layer builds on it."""
