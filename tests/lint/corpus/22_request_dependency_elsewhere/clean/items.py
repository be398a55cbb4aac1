from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from deps import get_db

router = APIRouter()


def count_items(session: Session) -> int:
    return len(session.execute("select 1").all())


@router.get("/items/count")
def items_count(db: Session = Depends(get_db)):
    return count_items(db)
