# The clean twin of the unannotated `session_factory` shape (issue 28, item 6): the repository
# writes its audit row in the session it holds.
from sqlalchemy.orm import Session


class OrderRepository:
    def __init__(self, session: Session, session_factory) -> None:
        self.session = session
        self.session_factory = session_factory

    def save(self, order: object) -> None:
        self.session.add(order)
        self.session.add(object())
