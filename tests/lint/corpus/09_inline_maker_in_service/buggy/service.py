# Modelled on Netflix/dispatch's `refetch_db_session()` (src/dispatch/database/core.py), which
# builds `sessionmaker(bind=schema_engine)()` inline: here a service method builds a maker
# where the work is done. Creating the maker does not make this module a composition root.
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://localhost/app")


class ReportService:
    def monthly(self, organization: str) -> list[object]:
        scoped = engine.execution_options(schema_translate_map={None: organization})
        session = sessionmaker(bind=scoped)()  # expect: SCN003
        return list(session.execute("select 1"))
