# Modelled on code-specialist/sqlmodel-repository PR #8 ("get_session ... return
# self._Session()"): a session manager whose get_session() hands out a new session each time,
# called by a repository that was constructed with the caller's session.
from sqlmodel import Session, create_engine
from sqlalchemy.orm import sessionmaker


class SessionManager:
    def __init__(self, url: str) -> None:
        self._Session = sessionmaker(bind=create_engine(url), class_=Session)

    def get_session(self) -> Session:
        return self._Session()


manager = SessionManager("sqlite:///books.db")
