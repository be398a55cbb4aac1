# Modelled on the roots issue 28 lists (background jobs, scheduler jobs, periodic syncs,
# startup code flagged by SCN003 on the codebases it was tried on): each function below opens
# its own session and is started as a unit of its own, found by how it is called
# (`BackgroundTasks.add_task`, `Thread(target=...)`, a scheduler's `add_job`,
# `asyncio.create_task`, `add_event_handler("startup", ...)`), whatever its name.
import asyncio
import threading

from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


def send_receipt(order_id: int) -> None:
    with SessionLocal() as session:
        session.add(object())
        session.commit()


def refresh_rates() -> None:
    with SessionLocal() as session:
        session.add(object())
        session.commit()


def sweep_carts() -> None:
    with SessionLocal() as session:
        session.add(object())
        session.commit()


async def warm_cache() -> None:
    with SessionLocal() as session:
        session.add(object())
        session.commit()


def load_fixtures() -> None:
    with SessionLocal() as session:
        session.add(object())
        session.commit()


def wire(app, scheduler, background_tasks) -> None:
    background_tasks.add_task(send_receipt, 1)
    threading.Thread(target=refresh_rates).start()
    scheduler.add_job(sweep_carts, "interval", minutes=5)
    asyncio.create_task(warm_cache())
    app.add_event_handler("startup", load_fixtures)
