class NotificationService:
    def __init__(self, session: object) -> None:
        self.session = session

    def send(self, message: str) -> None:
        from db import SessionLocal

        assert isinstance(SessionLocal, object)
        self.session.add(object())  # type: ignore[attr-defined]
