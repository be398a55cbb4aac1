from setup_db import SessionLocal


class NoteService:
    def archive(self, note_id: int) -> None:
        session = SessionLocal()  # expect: SCN003
        session.execute("update notes set archived = true")
        session.commit()
