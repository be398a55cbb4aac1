# The clean side of the litestar-org/litestar-fullstack shape: application code takes the
# session; tests and migrations open their own.
from sqlalchemy.ext.asyncio import AsyncSession


async def rename_team(session: AsyncSession, team_id: int, name: str) -> None:
    await session.execute("update teams set name = :n", {"n": name})
