"""SupportDesk: answers one human post and commits the request's session.

It commits `self.db`; the buggy twin's rows sit in another session, exactly as in the seed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from examples.support_desk.checkpoints import Checkpoint, checkpoint
from examples.support_desk.model import Author, Post
from examples.support_desk.repositories import MemoryRepository, ThreadRepository


class EchoBot:
    """Deterministic stand-in for a model: no network."""

    def answer(self, question: str) -> str:
        return f"Bot: {question}"


class SupportDesk:
    def __init__(
        self, db: Session, threads: ThreadRepository, memory: MemoryRepository, bot: EchoBot
    ) -> None:
        self.db = db
        self.threads = threads
        self.memory = memory
        self.bot = bot

    def handle(self, thread_id: int, question: str) -> tuple[Post, Post]:
        try:
            self.threads.open_if_new(thread_id)
            asked = self.threads.append(thread_id, Author.HUMAN, question)
            checkpoint(Checkpoint.QUESTION_SAVED)
            self.memory.remember_first_turn(thread_id)
            checkpoint(Checkpoint.MEMORY_SAVED)
            answered = self.threads.append(thread_id, Author.BOT, self.bot.answer(question))
            checkpoint(Checkpoint.ANSWER_SAVED)
            checkpoint(Checkpoint.BEFORE_COMMIT)
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        return asked, answered
