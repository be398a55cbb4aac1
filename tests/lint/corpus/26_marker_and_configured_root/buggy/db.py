from contextlib import contextmanager

from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


@contextmanager
def session_context():
    session = SessionLocal()
    try:
        yield session
    finally:
        session.close()
