# The fix for d3vyce/fastapi-toolsets issue #380: FastAPI's per-request cache left on, so the
# route and its sub-dependency share one session.
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

maker = async_sessionmaker(create_async_engine("sqlite+aiosqlite:///shop.db"))
router = APIRouter()


async def get_db():
    async with maker() as db:
        yield db


async def current_cart(db: AsyncSession = Depends(get_db)):
    return await db.get(object, 1)


@router.post("/cart/items")
async def add_item(cart=Depends(current_cart), db: AsyncSession = Depends(get_db)):
    db.add(cart)
    await db.commit()
