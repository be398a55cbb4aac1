# The clean twin, as keep's install_provider writes it: the secret is written before the
# provider's session is opened, each its own unit of work.
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from keep.secrets.factory import SecretManagerFactory

engine = create_engine("sqlite:///keep.sqlite3")


def install_provider(name: str) -> None:
    secret_manager = SecretManagerFactory.get_secret_manager("db")
    secret_manager.write_secret(name, "{}")
    with Session(engine) as session:
        session.add(object())
        session.commit()
