# The clean twin, modelled on the chain issue 28 reports from an agent server (kept aside,
# written from the words): `self.store._settings.db` is an app-wide cached object's
# session, two steps away, not one this unit holds; the sync opens its own and is its own unit.
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


class Settings:
    db: Session


class Store:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings


class Syncer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def sync(self) -> None:
        with SessionLocal() as session:
            session.add(object())
            session.commit()
