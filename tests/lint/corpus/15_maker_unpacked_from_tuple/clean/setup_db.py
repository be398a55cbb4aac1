# The clean side of the `engine, SessionLocal = init_db(url)` shape: the service is handed a
# session.
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


def init_db(url: str):
    engine = create_engine(url)
    return engine, sessionmaker(bind=engine)


engine, SessionLocal = init_db("sqlite:///notes.db")
