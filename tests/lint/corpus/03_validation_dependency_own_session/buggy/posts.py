# Modelled on zhanymkanov/fastapi-best-practices issue #62 ("How do dependencies for validating
# data against the db handle sessions?"): the validating dependency reads through a service
# that opens its own session, while the route writes through the request's.
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

async_session = async_sessionmaker()
router = APIRouter()


async def get_db():
    async with async_session() as db:
        yield db


class PostService:
    async def get_by_id(self, post_id: int):
        async with async_session() as db:  # expect: SCN003
            return await db.get(object, post_id)


async def valid_post_id(post_id: int):
    post = await PostService().get_by_id(post_id)
    if post is None:
        raise LookupError(post_id)
    return post


@router.post("/posts/{post_id}/like")
async def like(post=Depends(valid_post_id), db: AsyncSession = Depends(get_db)):
    db.add(post)
    await db.commit()
