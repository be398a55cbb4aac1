# The clean side of the Netflix/dispatch `get_session()` shape: the helper opens the one
# session of a job; the service writes through the session it is given.
from contextlib import contextmanager

from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


@contextmanager
def get_session():
    session = SessionLocal()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
