# Modelled on litestar-org/litestar-fullstack, whose tests (src/py/tests/integration/conftest.py)
# and Alembic migrations open sessions from the maker: those stay silent by default; the same
# call in application code is reported.
from app.db import sessionmaker


async def rename_team(team_id: int, name: str) -> None:
    async with sessionmaker() as session:  # expect: SCN003
        await session.execute("update teams set name = :n", {"n": name})
        await session.commit()
