# Modelled on the runner helper issue 28 reports from an ML platform's API (kept aside, written
# here from the words): `run_with_new_session(func)` opens a session, calls back and
# commits. The helper is a fine unit of work on its own; it is wrong where its caller already
# holds a session, which is where it must be judged.
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def run_with_new_session(func: Callable[[Session], None]) -> None:
    with SessionLocal() as session:  # expect: SCN001
        func(session)
        session.commit()


def store_artifact(session: Session) -> None:
    session.add(object())


def update_run(session: Session, run: object) -> None:
    session.add(run)
    run_with_new_session(store_artifact)


def nightly_cleanup() -> None:
    run_with_new_session(store_artifact)
