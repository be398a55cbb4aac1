# Modelled on apache/airflow PR #9616 ("local job heartbeat callback should use session from
# provide_session"): a method that was given a session refreshes through a decorated helper
# without passing it, so a second session checks out a second connection.
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
        self.refresh_from_db()  # expect: SCN001
        session.merge(self)
