"""Plain domain objects: no SQLAlchemy here, so the mapper is the only bridge to the ORM."""
