"""`python -m scenarios.lint PATH ...`: find code that opens a session outside the composition
root, without running it. Prints `file:line: reason`; exit 1 when it finds any, 0 when none,
2 on bad usage. See `checker` for what counts, `config` for `[tool.scenarios.lint]`."""

from __future__ import annotations

from scenarios.lint.checker import Finding, check
from scenarios.lint.config import ConfigError, LintConfig, load_config

__all__ = ["ConfigError", "Finding", "LintConfig", "check", "load_config"]
