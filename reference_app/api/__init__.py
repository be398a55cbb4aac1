"""The HTTP layer: FastAPI routes that depend on `get_db()`, as in the seed."""
