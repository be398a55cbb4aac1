# The clean twin of the abstract-provider shape (issue 28): the run records its log in the
# session it was given, and only the job that holds none opens one through the provider.
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
