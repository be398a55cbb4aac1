# Modelled on the service layer issue 28 reports from a workflow engine (kept aside for
# judging, so written here from the words only): the second session is reached through
# `db.session_context()`, an abstract method of the database provider that its subclass
# implements by ending in `self.config.session(engine)`.
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session


class DatabaseConfig:
    def session(self, engine: Engine) -> Session:
        return Session(engine)


class Database(ABC):
    @abstractmethod
    def session_context(self) -> Iterator[Session]:
        """A session for one unit of work."""


class SqliteDatabase(Database):
    def __init__(self, config: DatabaseConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine

    @contextmanager
    def session_context(self) -> Iterator[Session]:
        with self.config.session(self.engine) as session:
            yield session
            session.commit()
