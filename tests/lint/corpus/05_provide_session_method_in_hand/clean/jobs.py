# The fix of apache/airflow PR #9616: the callback passes the session it was given.
from sqlalchemy.orm import Session

from helpers import provide_session


class LocalTaskJob:
    @provide_session
    def refresh_from_db(self, session: Session | None = None) -> None:
        assert session is not None
        session.execute("select 1")

    @provide_session
    def heartbeat_callback(self, session: Session | None = None) -> None:
        assert session is not None
        self.refresh_from_db(session=session)
        session.merge(self)
