# The clean twin of the runner shape (issue 28): the caller that holds a session passes it
# to the callback; only the job that holds none goes through the runner.
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def run_with_new_session(func: Callable[[Session], None]) -> None:
    with SessionLocal() as session:
        func(session)
        session.commit()


def store_artifact(session: Session) -> None:
    session.add(object())


def update_run(session: Session, run: object) -> None:
    session.add(run)
    store_artifact(session)


def nightly_cleanup() -> None:
    run_with_new_session(store_artifact)
