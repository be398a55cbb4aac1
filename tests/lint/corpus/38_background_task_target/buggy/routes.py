# Modelled on FastAPI's documented `BackgroundTasks.add_task(func)`: a function handed to
# add_task runs after the response, as its own unit of work, so its session is its own. The
# buggy twin calls the same function directly while the request's session is in hand.
from fastapi import BackgroundTasks
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def write_audit(order_id: int) -> None:
    with SessionLocal() as session:  # expect: SCN001
        session.add(object())
        session.commit()


def create_order(db: Session, background_tasks: BackgroundTasks) -> None:
    db.add(object())
    write_audit(1)
