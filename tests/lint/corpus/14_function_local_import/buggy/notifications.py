class NotificationService:
    def send(self, message: str) -> None:
        from db import SessionLocal

        with SessionLocal() as session:  # expect: SCN003
            session.add(object())
            session.commit()
