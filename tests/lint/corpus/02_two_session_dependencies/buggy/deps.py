# Modelled on the fastapi/fastapi PR #2945 thread (a dependency used in Security() and in
# Depends() ended up with two cache entries and two database sessions): here the auth
# dependency takes its session from a second helper, so a route gets two.
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


def get_auth_db():
    with SessionLocal() as db:
        yield db


def current_user(db: Annotated[Session, Depends(get_auth_db)]):
    return db.get(object, 1)
