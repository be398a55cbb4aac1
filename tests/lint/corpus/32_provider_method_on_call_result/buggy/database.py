# Modelled on the shape issue 28 reports from a workflow engine (kept aside, written here from
# the words): the provider comes from a cached factory, `provide_db()`, and the second
# session from a method called on its result, `provide_db().session_context()`.
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
