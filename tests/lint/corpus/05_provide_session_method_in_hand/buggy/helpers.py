# The decorator of apache/airflow's shape (utils/session.py), written small.
import contextlib
import functools

from sqlalchemy.orm import sessionmaker

Session = sessionmaker()


@contextlib.contextmanager
def create_session():
    session = Session()
    try:
        yield session
        session.commit()
    finally:
        session.close()


def provide_session(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs.get("session") is not None:
            return func(*args, **kwargs)
        with create_session() as session:
            return func(*args, session=session, **kwargs)

    return wrapper
