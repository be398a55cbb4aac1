from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from deps import get_db, get_session, transaction

router = APIRouter()


@router.post("/stuff", status_code=201)
async def create_stuff(payload: dict, db: AsyncSession = Depends(get_db, scope="function")) -> dict:
    db.add(object())
    await db.flush()
    return {"saved": True}


@router.post("/users", status_code=201)
async def create_user(payload: dict, db: AsyncSession = Depends(get_session)) -> dict:
    db.add(object())
    await db.commit()
    return {"saved": True}


@router.post("/audit", status_code=201)
async def create_audit(payload: dict, db: AsyncSession = Depends(get_session)) -> dict:
    async with transaction(db) as session:
        session.add(object())
    return {"saved": True}
