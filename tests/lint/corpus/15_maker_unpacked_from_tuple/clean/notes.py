from sqlalchemy.orm import Session


class NoteService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def archive(self, note_id: int) -> None:
        self.session.execute("update notes set archived = true")
