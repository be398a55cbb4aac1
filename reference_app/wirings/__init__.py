"""The compositions of the same classes; choosing one is one argument to `create_app`."""

from __future__ import annotations

from reference_app.wirings.commit_before_response import CommitBeforeResponseModule
from reference_app.wirings.commit_in_dependency import CommitInDependencyModule
from reference_app.wirings.commit_in_save import CommitInSaveModule
from reference_app.wirings.session_module import SessionDependency, SessionModule
from reference_app.wirings.shared_session import SharedSessionModule
from reference_app.wirings.two_sessions import TwoSessionsModule
from reference_app.wirings.unit_of_work import UnitOfWorkModule

WIRINGS: dict[str, type[SessionModule]] = {
    "two_sessions": TwoSessionsModule,
    "shared_session": SharedSessionModule,
    "commit_in_save": CommitInSaveModule,
    "unit_of_work": UnitOfWorkModule,
    "commit_in_dependency": CommitInDependencyModule,
    "commit_before_response": CommitBeforeResponseModule,
}


def module_for(wiring: str) -> type[SessionModule]:
    try:
        return WIRINGS[wiring]
    except KeyError:
        raise ValueError(
            f"unknown wiring {wiring!r}; choose one of: {', '.join(WIRINGS)}"
        ) from None


__all__ = ["WIRINGS", "SessionDependency", "SessionModule", "module_for"]
