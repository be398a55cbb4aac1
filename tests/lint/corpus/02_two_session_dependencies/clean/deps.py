# The fix for the fastapi/fastapi PR #2945 shape: one session dependency for the whole tree.
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def current_user(db: Annotated[Session, Depends(get_db)]):
    return db.get(object, 1)
