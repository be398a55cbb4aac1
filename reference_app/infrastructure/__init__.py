"""SQLAlchemy models, mapper, repositories, unit of work and engine setup."""
