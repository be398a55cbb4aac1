"""A small app in the usual FastAPI layout: a module-level engine and DI container, no
checkpoints of its own, database errors left to escape as bare 500s. Modelled on the shape of
public FastAPI apps (rhoboro/async-fastapi-sqlalchemy's `app/db.py`, a RealWorld "Conduit"
backend's module-level container; issue 14); the code is ours.
"""
