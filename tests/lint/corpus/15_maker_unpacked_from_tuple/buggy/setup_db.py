# Modelled on the `engine, SessionLocal = init_db(url)` shape of small public Flask and FastAPI
# apps, where a factory returns the engine and the maker together: the unpacked maker is
# still a maker when a service opens a session with it.
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


def init_db(url: str):
    engine = create_engine(url)
    return engine, sessionmaker(bind=engine)


engine, SessionLocal = init_db("sqlite:///notes.db")
