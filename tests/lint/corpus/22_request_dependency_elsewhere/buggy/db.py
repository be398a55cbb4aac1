# Modelled on fastapi/full-stack-fastapi-template, whose get_db lives in api/deps.py while the
# engine lives in core/db.py (issue 12's "composition root living in another module than the
# maker"): get_db is silent wherever it lives; a service opening its own session is not.
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("sqlite:///items.db"))
