"""`python -m scenarios.lint PATH ...`: find code that opens a second database session where one
is already in hand, or opens its own where the work is done, without running it.

`run.check` gives a `Report`; `__main__` prints it as text, JSON or SARIF. What counts is in
`syntax`, `project` and `scope` (makers, sessions, helpers; `members` for methods and attributes
of classes, `hierarchy` for subclasses and abstract methods) and `rules` / `callgraph` (a call
made with a session in hand, to code that opens and writes in its own) / `depends` /
`registries` (task-keyed `async_scoped_session`) / `after_response` (a commit after `yield`,
SCN004, weighed by `fastapi_version`); what stays silent in `roots` and `config`
(`[tool.scenarios.lint]`), which rules run and how much they weigh in `selection`; `markers`
reads `# scenarios: allow-session -- reason`.
"""

from __future__ import annotations

from scenarios.lint.config import ConfigError, LintConfig, load_config
from scenarios.lint.findings import LintFinding, Report
from scenarios.lint.run import check

__all__ = ["ConfigError", "LintConfig", "LintFinding", "Report", "check", "load_config"]
