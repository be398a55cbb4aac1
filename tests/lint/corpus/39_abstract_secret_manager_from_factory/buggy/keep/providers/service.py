# Modelled on keephq/keep's ProvidersService.install_provider (keep/providers/
# providers_service.py): the secret manager comes from a factory annotated to return the
# abstract BaseSecretManager, whose database implementation opens and commits a session of its
# own; called inside the provider's `with Session(engine)`, the secret is committed apart. The
# top folder `keep/` has no __init__.py (a namespace package), as in keep.
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from keep.secrets.factory import SecretManagerFactory

engine = create_engine("sqlite:///keep.sqlite3")


def install_provider(name: str) -> None:
    secret_manager = SecretManagerFactory.get_secret_manager("db")
    with Session(engine) as session:
        session.add(object())
        secret_manager.write_secret(name, "{}")
        session.commit()
