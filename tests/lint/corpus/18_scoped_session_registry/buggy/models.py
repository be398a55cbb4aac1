# Modelled on fastapi/full-stack-fastapi-template issue #56 ("scoped_session versus Session"):
# the app keeps a scoped_session registry, and calling it fetches the thread's current
# session; a service that calls the plain maker instead gets a second one.
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("sqlite:///forum.db")
SessionFactory = sessionmaker(bind=engine)
db_session = scoped_session(SessionFactory)
