# Modelled on Netflix/dispatch's `get_session()` (src/dispatch/database/core.py), a
# @contextmanager that opens, commits and closes a session; here a service that was handed the
# request's session calls it for one more write.
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
