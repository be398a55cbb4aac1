from app.db import sessionmaker


async def seeded_session():
    async with sessionmaker() as session:
        session.add(object())
        await session.commit()
        async with sessionmaker() as checker:
            await checker.execute("select 1")
