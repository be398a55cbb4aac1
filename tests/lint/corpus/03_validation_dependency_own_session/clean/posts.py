# The fix for fastapi-best-practices issue #62: the validating dependency takes the request's
# session (FastAPI caches get_db per request), and the service is given it.
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

async_session = async_sessionmaker()
router = APIRouter()


async def get_db():
    async with async_session() as db:
        yield db


class PostService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def get_by_id(self, post_id: int):
        return await self.db.get(object, post_id)


async def valid_post_id(post_id: int, db: AsyncSession = Depends(get_db)):
    post = await PostService(db).get_by_id(post_id)
    if post is None:
        raise LookupError(post_id)
    return post


@router.post("/posts/{post_id}/like")
async def like(post=Depends(valid_post_id), db: AsyncSession = Depends(get_db)):
    db.add(post)
    await db.commit()
