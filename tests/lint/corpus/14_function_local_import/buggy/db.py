# Modelled on Netflix/dispatch's habit of importing inside functions to break import cycles
# (src/dispatch/cli.py): the maker imported inside the method is the same maker.
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()
