# The clean side of Netflix/dispatch's signal workers: one session per unit of work, one after
# the other.
from celery import shared_task

from database import get_session


@shared_task
def process_signals(organization: str) -> None:
    with get_session() as session:
        session.execute("select 1")
    with get_session() as session:
        session.add(object())
