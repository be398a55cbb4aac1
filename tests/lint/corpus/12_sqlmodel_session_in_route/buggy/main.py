# Modelled on fastapi/full-stack-fastapi-template's `SessionDep = Annotated[Session,
# Depends(get_db)]` (backend/app/api/deps.py) and the SQLModel tutorial's `with Session(engine)`:
# a route that receives SessionDep also opens `sqlmodel.Session(engine)` itself.
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlmodel import Session, create_engine

engine = create_engine("sqlite:///heroes.db")
app = FastAPI()


def get_db():
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


@app.post("/heroes")
def create_hero(session: SessionDep, name: str):
    session.add(object())
    with Session(engine) as log_session:  # expect: SCN001
        log_session.add(object())
        log_session.commit()
    session.commit()
