# Modelled on apache/airflow PR #40774 (a @provide_session method called from code that already
# had a session created and committed a nested one) and PR #20104 (NEW_SESSION).
from functools import wraps

from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker()
NEW_SESSION: Session = None  # type: ignore[assignment]


def provide_session(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        if "session" in kwargs:
            return func(*args, **kwargs)
        with SessionFactory() as session:
            kwargs["session"] = session
            result = func(*args, **kwargs)
            session.commit()
            return result

    return wrapper
