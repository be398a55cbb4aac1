from abc import ABC, abstractmethod


class BaseSecretManager(ABC):
    @abstractmethod
    def write_secret(self, name: str, value: str) -> None:
        """Store a secret."""
