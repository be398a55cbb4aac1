from sqlalchemy.ext.asyncio import AsyncSession

from services import ServiceModule


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class ReportsModule(ServiceModule):
    def provide_reports(self, db: AsyncSession) -> ReportRepository:
        return ReportRepository(self.session_factory())  # expect: SCN001
