from contextlib import contextmanager

from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


@contextmanager
def get_session():
    with SessionLocal() as session:
        yield session
        session.commit()
