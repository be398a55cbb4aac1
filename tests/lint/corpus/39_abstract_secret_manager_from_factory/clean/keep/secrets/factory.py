from keep.secrets.base import BaseSecretManager
from keep.secrets.db import DbSecretManager


class SecretManagerFactory:
    @staticmethod
    def get_secret_manager(kind: str) -> BaseSecretManager:
        return DbSecretManager()
