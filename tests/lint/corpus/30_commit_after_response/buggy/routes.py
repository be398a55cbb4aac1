from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from deps import get_db, get_transaction

router = APIRouter()


@router.post("/stuff", status_code=201)
async def create_stuff(payload: dict, db: AsyncSession = Depends(get_db)) -> dict:
    db.add(object())
    await db.flush()
    return {"saved": True}


@router.post("/users", status_code=201)
async def create_user(payload: dict, db: AsyncSession = Depends(get_transaction)) -> dict:
    db.add(object())
    return {"saved": True}
