from sqlmodel import Session


class BookRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, book: object) -> None:
        self.session.add(book)

    def add_with_audit(self, book: object) -> None:
        self.session.add(book)
        self.session.add(object())
