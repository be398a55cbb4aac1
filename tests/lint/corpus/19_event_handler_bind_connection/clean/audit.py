# The clean side of the `Session(bind=connection)` event recipe: only inside event handlers,
# by decorator or by event.listen().
from sqlalchemy import event
from sqlalchemy.orm import Session


class Order:
    pass


@event.listens_for(Order, "after_insert")
def audit_insert(mapper, connection, target):
    with Session(bind=connection) as session:
        session.add(object())
        session.flush()


def audit_update(mapper, connection, target):
    Session(bind=connection).add(object())


event.listen(Order, "after_update", audit_update)
