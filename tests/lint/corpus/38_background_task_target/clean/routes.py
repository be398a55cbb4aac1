# The clean twin: the request hands `write_audit` to `BackgroundTasks.add_task`, which runs
# it after the response as its own unit of work (not a call made while the session is in hand).
from fastapi import BackgroundTasks
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def write_audit(order_id: int) -> None:
    with SessionLocal() as session:
        session.add(object())
        session.commit()


def create_order(db: Session, background_tasks: BackgroundTasks) -> None:
    db.add(object())
    background_tasks.add_task(write_audit, 1)
