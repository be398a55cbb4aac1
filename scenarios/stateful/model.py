"""The model of what a request history must have stored, and the check of a database's rows
against it: plain Python, no Hypothesis, so it is tested on its own (tests/stateful/
test_model_check.py). `RequestHistory` (scenarios.stateful.machine) is a `ModelCheck`: its rules
record what each request was told, its invariant calls `order_batches` and `compare`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scenarios.adapter import DatabaseState
from scenarios.outcomes import Evidence, Outcome
from scenarios.stateful.strategies import abridged


@dataclass(frozen=True)
class Expected:
    """A message the database must hold; `content` None means any (an app's own reply)."""

    role: str
    content: str | None

    def matches(self, role: str, content: str) -> bool:
        return role == self.role and (self.content is None or content == self.content)


class ModelCheck:
    """What must be in the database after the requests so far, and how its rows differ from it.

    The state machine fills the fields as it sends requests; each is keyed by a chat session's
    key (the id the app was sent)."""

    def __init__(self) -> None:
        # key -> the messages that must be committed, in order.
        self.model: dict[str, list[Expected]] = {}
        # key -> acknowledged (user, reply) pairs of a batch whose commit order is not known yet.
        self.unordered: dict[str, list[tuple[Expected, Expected]]] = {}
        # key -> contents of requests that failed there (None: the content was not text).
        self.failed: dict[str, list[Any]] = {}
        self.labels: dict[str, str] = {}

    def order_batches(self, state: DatabaseState) -> None:
        """Concurrent requests commit in an order only the database knows: adopt it where each
        acknowledged pair sits together, and the send order otherwise (then the check fails)."""
        for key, pairs in self.unordered.items():
            expected = self.model.setdefault(key, [])
            stored = state.messages.get(key, ())
            at = len(expected)
            remaining = list(pairs)
            while remaining and at + 1 < len(stored):
                user, reply = stored[at], stored[at + 1]
                match = next(
                    (
                        p
                        for p in remaining
                        if p[0].matches(user.role, user.content)
                        and p[1].matches(reply.role, reply.content)
                    ),
                    None,
                )
                if match is None:
                    break
                remaining.remove(match)
                expected += match
                at += 2
            for pair in remaining:
                expected += pair
        self.unordered.clear()

    def compare(self, state: DatabaseState) -> list[Evidence]:
        findings: list[Evidence] = []

        def name(key: str) -> str:
            return self.labels.get(key, "a chat session the history never named")

        def leftover(key: str, what: str) -> Evidence:
            if key in self.failed:
                return (
                    Outcome.PARTIAL_COMMIT,
                    f"{name(key)}: {what} of a failed request committed",
                )
            return (Outcome.ERROR, f"{name(key)}: {what} that no request of the history wrote")

        for key, expected in self.model.items():
            if key not in state.sessions:
                findings.append(
                    (
                        Outcome.LOST_WRITE,
                        f"{name(key)}: acknowledged, but its chat "
                        "session row is not in the database",
                    )
                )
            contexts = state.agent_contexts.get(key, 0)
            if contexts == 0:
                findings.append(
                    (
                        Outcome.LOST_WRITE,
                        f"{name(key)}: acknowledged, but no agent context is in the database",
                    )
                )
            elif contexts > 1:
                findings.append((Outcome.ERROR, f"{name(key)}: {contexts} agent contexts"))
            findings += self._compare_messages(key, expected, state, leftover)
        for key in sorted(state.sessions - self.model.keys()):
            findings.append(leftover(key, "a chat session row"))
        for key in sorted(state.agent_contexts.keys() - self.model.keys()):
            findings.append(leftover(key, "an agent context"))
        for key in sorted(state.messages.keys() - self.model.keys()):
            findings.append(leftover(key, f"{len(state.messages[key])} message(s)"))
        for description in state.dangling:
            findings.append((Outcome.ERROR, f"foreign key does not resolve: {description}"))
        return findings

    def _compare_messages(
        self, key: str, expected: list[Expected], state: DatabaseState, leftover: Any
    ) -> list[Evidence]:
        label = self.labels.get(key, key)
        stored = state.messages.get(key, ())
        findings: list[Evidence] = []
        positions = [m.position for m in stored]
        if positions != list(range(len(positions))):
            findings.append((Outcome.ERROR, f"{label}: positions are {positions}, not gapless"))
        unmatched = list(stored)
        for index, wanted in enumerate(expected):
            found = next((m for m in unmatched if wanted.matches(m.role, m.content)), None)
            if found is None:
                what = abridged(wanted.content) if wanted.content is not None else "(reply)"
                findings.append(
                    (
                        Outcome.LOST_WRITE,
                        f"{label}: acknowledged {wanted.role} "
                        f"message {index} {what} is not in the database",
                    )
                )
            else:
                unmatched.remove(found)
        for extra in unmatched:
            findings.append(leftover(key, f"{extra.role} message {abridged(extra.content)}"))
        if not findings and not all(
            w.matches(m.role, m.content) for w, m in zip(expected, stored, strict=True)
        ):
            order = [f"{m.role}: {abridged(m.content)}" for m in stored]
            findings.append(
                (
                    Outcome.SPLIT_EXCHANGE,
                    f"{label}: every message is there, but not in the "
                    f"order they were acknowledged: {order}",
                )
            )
        return findings
