"""A deterministic stand-in for the model: no network, same reply for the same input."""

from __future__ import annotations


class FakeAgent:
    async def reply(self, content: str) -> str:
        return f"Echo: {content}"
