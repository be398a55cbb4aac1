# Modelled on public code found by code search: a Flask app's `engine, SessionLocal = init_db()`
# and database modules' `engine, SessionLocal = create_engine_and_session()`, where a factory
# returns the engine and the maker together; the unpacked maker is still a maker.
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


def init_db(url: str):
    engine = create_engine(url)
    return engine, sessionmaker(bind=engine)


engine, SessionLocal = init_db("sqlite:///notes.db")
