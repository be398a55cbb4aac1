# The clean twin, keep's own shape: an optional parameter that no caller passes, rebound by the
# `with` that opens the function's own session: nothing is in hand when it opens.
from typing import Optional

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("sqlite:///keep.sqlite3")


def instance_id(session: Optional[Session] = None) -> str:
    with Session(engine) as session:
        session.add(object())
        session.commit()
    return "id"


def report() -> str:
    return instance_id()
