# Modelled on Netflix/dispatch's signal workers (src/dispatch/signal/flows.py), which open one
# session per organization for their own unit of work: that is silent; a task that, inside its
# session, opens another through the helper is reported.
from celery import shared_task

from database import get_session


@shared_task
def process_signals(organization: str) -> None:
    with get_session() as session:
        session.execute("select 1")
        with get_session() as other:  # expect: SCN001
            other.add(object())
