from fastapi import APIRouter, Depends

from db import SessionLocal
from deps import get_db

router = APIRouter()


def count_items() -> int:
    with SessionLocal() as session:  # expect: SCN003
        return len(session.execute("select 1").all())


@router.get("/items/count")
def items_count(db=Depends(get_db)):
    return count_items()
