"""The domain: a thread of posts by a human and a bot."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Author(StrEnum):
    HUMAN = "human"
    BOT = "bot"


@dataclass(frozen=True)
class Post:
    thread_id: int
    author: Author
    body: str
    seq: int  # 1-based order within the thread
