from fastapi import APIRouter

from deps import ReadSession, WriteSession

router = APIRouter()


@router.post("/checkouts/{checkout_id}/confirm")
async def confirm(
    checkout_id: int,
    session: WriteSession,
    read_session: ReadSession,  # expect: SCN002
):
    session.add(object())
    await session.flush()
    return await read_session.get(object, checkout_id)
