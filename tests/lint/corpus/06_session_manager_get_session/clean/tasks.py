from repository import BookRepository
from session_manager import manager


def import_books(books: list[object]) -> None:
    with manager.get_session() as session:  # a worker task: its own unit of work (tasks.py is an entry point by default)
        repository = BookRepository(session)
        for book in books:
            repository.add_with_audit(book)
        session.commit()
