# Modelled on fastapi/full-stack-fastapi-template, whose maker-free db module and get_db in
# api/deps.py are the composition root though the engine lives elsewhere (the old check called
# get_db a finding): get_db is silent wherever it lives; a service opening its own is not.
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("sqlite:///items.db"))
