from sqlmodel import Session

from session_manager import manager


class BookRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, book: object) -> None:
        self.session.add(book)

    def add_with_audit(self, book: object) -> None:
        self.session.add(book)
        audit = manager.get_session()  # expect: SCN001
        audit.add(object())
        audit.commit()
