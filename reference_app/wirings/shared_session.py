"""The incident app's fix 1: every service gets the request's `db`, the one session the request
commits. It is `SessionModule` as written, unchanged: a diff against `two_sessions.py` shows the
bug and its fix in a few lines.
"""

from __future__ import annotations

from reference_app.wirings.session_module import SessionModule


class SharedSessionModule(SessionModule):
    name = "shared_session"
