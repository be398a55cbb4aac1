# The clean twin of the method-on-a-call-result shape (issue 28): the flow that holds a
# session writes its events in it; `provide_db().session_context()` opens the job's own.
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str) -> None:
        self.maker = sessionmaker(create_engine(url))

    @contextmanager
    def session_context(self) -> Iterator[Session]:
        with self.maker() as session:
            yield session
            session.commit()


@lru_cache
def provide_db() -> Database:
    return Database("sqlite:///app.sqlite3")
