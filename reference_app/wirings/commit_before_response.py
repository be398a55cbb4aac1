"""The fix for `commit_in_dependency`, one argument away from it: the same `get_db` with
`Depends(get_db, scope="function")` (FastAPI >= 0.121), whose code after `yield` runs when the
path operation returns, before the response is sent. The client hears 201 only after the
commit, and a failed commit becomes the client's 500."""

from __future__ import annotations

from reference_app.wirings.commit_in_dependency import CommitInDependencyModule, get_db
from reference_app.wirings.session_module import SessionDependency


class CommitBeforeResponseModule(CommitInDependencyModule):
    name = "commit_before_response"
    request_session = SessionDependency(get_db, scope="function")
