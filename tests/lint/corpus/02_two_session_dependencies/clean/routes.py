from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from deps import current_user, get_db

router = APIRouter()


@router.put("/profile")
def update_profile(
    user: Annotated[object, Depends(current_user)],
    db: Annotated[Session, Depends(get_db)],
):
    db.merge(user)
    db.commit()
