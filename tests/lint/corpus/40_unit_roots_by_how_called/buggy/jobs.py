# Modelled on the roots issue 28 lists; the buggy twin: the same function, called from a
# service as part of its work (not started as a unit of its own), opens its own session where
# the work is done: SCN003 (selected here; it is off by default).
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()


def send_receipt(order_id: int) -> None:
    with SessionLocal() as session:  # expect: SCN003
        session.add(object())
        session.commit()


def place_order(order_id: int) -> None:
    send_receipt(order_id)
