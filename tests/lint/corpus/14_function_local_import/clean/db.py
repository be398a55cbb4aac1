# The clean side of the function-local import shape (Netflix/dispatch cli.py).
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker()
