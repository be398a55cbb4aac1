# The clean side of the Netflix/dispatch `refetch_db_session()` shape: the service is given the
# session its caller opened for the organization.
from sqlalchemy.orm import Session


class ReportService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def monthly(self, organization: str) -> list[object]:
        return list(self.session.execute("select 1"))
