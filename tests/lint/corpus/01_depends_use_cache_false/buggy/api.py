# Modelled on d3vyce/fastapi-toolsets issue #380 ("Depends(db) resolved twice in one request
# opens two sessions and silently discards writes"): the session dependency is declared with
# use_cache=False, so the route and its sub-dependency each get a session of their own.
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

maker = async_sessionmaker(create_async_engine("sqlite+aiosqlite:///shop.db"))
router = APIRouter()


async def get_db():
    async with maker() as db:
        yield db


async def current_cart(db: AsyncSession = Depends(get_db, use_cache=False)):
    return await db.get(object, 1)


@router.post("/cart/items")
async def add_item(
    cart=Depends(current_cart),
    db: AsyncSession = Depends(get_db, use_cache=False),  # expect: SCN002
):
    db.add(cart)
    await db.commit()
