# The fix for code-specialist/sqlmodel-repository PR #8: sessions come from the manager only at
# the edge; the repository writes everything through the session it was given.
from sqlmodel import Session, create_engine
from sqlalchemy.orm import sessionmaker


class SessionManager:
    def __init__(self, url: str) -> None:
        self._Session = sessionmaker(bind=create_engine(url), class_=Session)

    def get_session(self) -> Session:
        return self._Session()


manager = SessionManager("sqlite:///books.db")
