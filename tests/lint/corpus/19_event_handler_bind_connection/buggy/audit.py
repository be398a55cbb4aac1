# Modelled on SQLAlchemy's documented recipe of opening `Session(bind=connection)` inside a
# mapper event so the audit row joins the flushing transaction: inside an event handler that is
# right; the same call in a service, on an engine, opens a second, separate session.
from sqlalchemy import event
from sqlalchemy.orm import Session


class Order:
    pass


@event.listens_for(Order, "after_insert")
def audit_insert(mapper, connection, target):
    with Session(bind=connection) as session:
        session.add(object())
        session.flush()


def audit_by_hand(engine, order: Order) -> None:
    with Session(bind=engine) as session:  # expect: SCN003
        session.add(order)
        session.commit()
