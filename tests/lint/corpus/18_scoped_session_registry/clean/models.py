# The clean side of full-stack-fastapi-template issue #56: every call of the scoped_session
# registry fetches the same current session, so it is never a second one.
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("sqlite:///forum.db")
SessionFactory = sessionmaker(bind=engine)
db_session = scoped_session(SessionFactory)
