# The clean side of the full-stack-fastapi-template shape: get_db in deps.py is the one place
# that opens the request's session.
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("sqlite:///items.db"))
