# Modelled on the repository issue 28 reports from a real app (item 6), whose maker arrives in
# an unannotated `session_factory` parameter: the repository holds the request's session and
# opens a second one from the factory for its audit row.
from sqlalchemy.orm import Session


class OrderRepository:
    def __init__(self, session: Session, session_factory) -> None:
        self.session = session
        self.session_factory = session_factory

    def save(self, order: object) -> None:
        self.session.add(order)
        with self.session_factory() as audit:  # expect: SCN001
            audit.add(object())
            audit.commit()
