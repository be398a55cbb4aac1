"""Repositories: each works in whatever `Session` it was built on, and never commits."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examples.support_desk.model import Author, Post
from examples.support_desk.orm import PostRow, ThreadMemoryRow, ThreadRow


class ThreadRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def open_if_new(self, thread_id: int) -> bool:
        if self.db.get(ThreadRow, thread_id) is not None:
            return False
        self.db.add(ThreadRow(id=thread_id))
        self.db.flush()
        return True

    def append(self, thread_id: int, author: Author, body: str) -> Post:
        last = self.db.scalar(select(func.max(PostRow.seq)).where(PostRow.thread_id == thread_id))
        post = Post(thread_id, author, body, (last or 0) + 1)
        self.db.add(PostRow(thread_id=thread_id, author=author.value, body=body, seq=post.seq))
        self.db.flush()
        return post

    def history(self, thread_id: int) -> list[Post] | None:
        if self.db.get(ThreadRow, thread_id) is None:
            return None
        rows = self.db.scalars(
            select(PostRow).where(PostRow.thread_id == thread_id).order_by(PostRow.seq)
        )
        return [Post(r.thread_id, Author(r.author), r.body, r.seq) for r in rows]


class MemoryRepository:
    def __init__(self, db: Session) -> None:
        self.db = db

    def remember_first_turn(self, thread_id: int) -> None:
        exists = self.db.scalar(
            select(ThreadMemoryRow.id).where(ThreadMemoryRow.thread_id == thread_id)
        )
        if exists is None:
            self.db.add(ThreadMemoryRow(thread_id=thread_id, state=json.dumps({"turns": 1})))
            self.db.flush()
