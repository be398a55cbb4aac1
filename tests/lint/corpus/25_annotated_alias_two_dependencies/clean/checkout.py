from fastapi import APIRouter

from deps import ReadSession, WriteSession

router = APIRouter()


@router.post("/checkouts/{checkout_id}/confirm")
async def confirm(checkout_id: int, session: WriteSession):
    session.add(object())
    await session.flush()
    return await session.get(object, checkout_id)


@router.get("/checkouts/{checkout_id}")
async def show(checkout_id: int, read_session: ReadSession):
    return await read_session.get(object, checkout_id)
