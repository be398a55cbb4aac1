"""The incident app's chain (API -> use case -> MessageProcessor -> service -> repository ->
mapper), small enough to read in one sitting and wirable as the two-session bug or as each fix.

It is a FastAPI app served through httpx: those come with the `[reference]` extra, not with the
harness's core, so without them importing it says, in one line, what to install.
"""

from __future__ import annotations

import importlib.util

WEB_STACK = ("fastapi", "starlette", "pydantic", "httpx")
MISSING = [name for name in WEB_STACK if importlib.util.find_spec(name) is None]
if MISSING:
    raise ModuleNotFoundError(
        f"the reference app needs {', '.join(MISSING)}, not installed: "
        "pip install 'two-sessions-harness[reference]'",
        name=MISSING[0],
    )
