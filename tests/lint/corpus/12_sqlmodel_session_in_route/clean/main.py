# The clean side of the full-stack-fastapi-template shape: the route uses SessionDep only.
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
    session.add(object())
    session.commit()
