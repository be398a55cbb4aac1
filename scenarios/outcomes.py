"""Outcomes and verdicts, and the classifier that turns what a case observed into one outcome.

Errors are recognised by the driver's code (SQLSTATE, SQLite error name, and on MariaDB/MySQL
the server's error number as a decimal string, "1205": their SQLSTATE is too coarse, HY000 for
a lock wait timeout), never by message text.
Persistence is judged only from what a fresh connection found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scenarios.adapter import AFTER_RESPONSE, INJECTED_FAULT_CODE, ChatResponse, DatabaseState
from scenarios.scenario import Expect, MessagePattern, RequestSpec, Scenario


class Outcome(StrEnum):
    OK = "ok"
    # The case left a connection checked out (and its transaction open) after its requests
    # ended: the harness took it back so the next case could run; `detail` says where.
    LEAKED_CONNECTION = "leaked_connection"
    LOST_WRITE = "lost_write"
    FK_VIOLATION = "fk_violation"
    LOCK_TIMEOUT = "lock_timeout"
    PARTIAL_COMMIT = "partial_commit"
    # Racing requests each committed part of their exchange, so another request's message was
    # committed between a user message and its reply: every save committed on its own.
    SPLIT_EXCHANGE = "split_exchange"
    ERROR = "error"


class Verdict(StrEnum):
    AS_EXPECTED = "as_expected"
    UNEXPECTED = "unexpected"
    SKIPPED = "skipped"


# When one case shows several problems, the outcome is the first of these that it shows.
PRIORITY = (
    Outcome.LEAKED_CONNECTION,
    Outcome.FK_VIOLATION,
    Outcome.LOCK_TIMEOUT,
    Outcome.LOST_WRITE,
    Outcome.PARTIAL_COMMIT,
    Outcome.SPLIT_EXCHANGE,
    Outcome.ERROR,
)

# The detail that names the commit-after-response bug: the client was told "saved" before the
# request's transaction committed (FastAPI >= 0.118 runs get_db's code after `yield` then).
ACKNOWLEDGED_BEFORE_COMMIT = "acknowledged before commit"

# MariaDB/MySQL error numbers (ER_* in the server's errmsg list), each checked on MariaDB 10.11:
MYSQL_FK_CHILD = "1452"  # ER_NO_REFERENCED_ROW_2: a child row whose parent does not exist
MYSQL_LOCK_WAIT_TIMEOUT = "1205"  # ER_LOCK_WAIT_TIMEOUT: innodb_lock_wait_timeout ran out
MYSQL_DEADLOCK = "1213"  # ER_LOCK_DEADLOCK: InnoDB chose this transaction as the victim
MYSQL_NOWAIT = "3572"  # ER_LOCK_NOWAIT (MySQL 8); MariaDB's NOWAIT answers 1205 instead
MYSQL_STATEMENT_TIMEOUT = "1969"  # ER_STATEMENT_TIMEOUT: MariaDB's max_statement_time ran out
MYSQL_QUERY_TIMEOUT = "3024"  # ER_QUERY_TIMEOUT: MySQL's max_execution_time ran out
MYSQL_DUPLICATE = "1062"  # ER_DUP_ENTRY: a unique key taken by another row

FK_CODES = frozenset({"23503", "SQLITE_CONSTRAINT_FOREIGNKEY", MYSQL_FK_CHILD})
# A bounded wait ran out: lock_timeout, statement_timeout, SQLite's busy timeout, InnoDB's lock
# wait (and NOWAIT) and the statement time limits of MariaDB and MySQL.
LOCK_CODES = frozenset(
    {
        "55P03",
        "57014",
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        MYSQL_LOCK_WAIT_TIMEOUT,
        MYSQL_NOWAIT,
        MYSQL_STATEMENT_TIMEOUT,
        MYSQL_QUERY_TIMEOUT,
    }
)
# Clear, retryable conflicts between concurrent requests.
CONFLICT_CODES = frozenset(
    {
        "40001",
        "40P01",
        "23505",
        "SQLITE_BUSY_SNAPSHOT",
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
        MYSQL_DEADLOCK,
        MYSQL_DUPLICATE,
    }
)


@dataclass(frozen=True)
class RequestResult:
    spec: RequestSpec
    session_key: str
    response: ChatResponse
    read_back: ChatResponse | None = None


@dataclass(frozen=True)
class Observation:
    outcome: Outcome
    findings: tuple[tuple[Outcome, str], ...]

    @property
    def detail(self) -> str:
        return "; ".join(message for _, message in self.findings)


def _describe(response: ChatResponse) -> str:
    code = f" {response.error_code}" if response.error_code else ""
    return f"HTTP {response.status}{code}"


def classify(
    scenario: Scenario,
    results: Sequence[RequestResult],
    state: DatabaseState,
    keys: Mapping[str, str],
) -> Observation:
    """One outcome for one case. `keys` maps the scenario's session aliases to runner keys."""
    findings: list[tuple[Outcome, str]] = []
    findings += _response_findings(results)
    findings += _persistence_findings(scenario, results, state, keys)
    findings += _expected_state_findings(scenario, state, keys)
    for description in state.dangling:
        findings.append((Outcome.ERROR, f"foreign key does not resolve: {description}"))
    for outcome in PRIORITY:
        if any(found is outcome for found, _ in findings):
            return Observation(outcome, tuple(findings))
    return Observation(Outcome.OK, ())


def _response_findings(results: Sequence[RequestResult]) -> list[tuple[Outcome, str]]:
    findings: list[tuple[Outcome, str]] = []
    for result in results:
        spec, response = result.spec, result.response
        name, code = spec.name, response.error_code
        if spec.expect is Expect.REJECTED:
            if not 400 <= response.status < 500:
                findings.append(
                    (Outcome.ERROR, f"{name}: expected a 4xx, got {_describe(response)}")
                )
            elif spec.rejected_field not in response.invalid_fields:
                findings.append(
                    (
                        Outcome.ERROR,
                        f"{name}: rejected, but the error names {list(response.invalid_fields)}, "
                        f"not {spec.rejected_field!r}",
                    )
                )
            continue
        if response.ok:
            if spec.expect is Expect.FAULT:
                findings.append(
                    (
                        Outcome.ERROR,
                        f"{name}: succeeded although a fault was injected at {spec.fault}",
                    )
                )
            continue
        conflict_allowed = spec.expect is Expect.SUCCESS_OR_CONFLICT
        if code in FK_CODES:
            findings.append((Outcome.FK_VIOLATION, f"{name}: foreign key violation ({code})"))
        elif code in LOCK_CODES and not conflict_allowed:
            findings.append((Outcome.LOCK_TIMEOUT, f"{name}: bounded wait ran out ({code})"))
        elif not _expected_failure(spec.expect, code):
            findings.append(
                (
                    Outcome.ERROR,
                    f"{name}: failed with {_describe(response)} {response.detail}".strip(),
                )
            )
    racing = [r for r in results if r.spec.expect is Expect.SUCCESS_OR_CONFLICT]
    if racing and not any(r.response.ok for r in racing):
        # Conflicts are allowed, but a wiring where every racing request fails makes no progress.
        codes = sorted({r.response.error_code or str(r.response.status) for r in racing})
        outcome = (
            Outcome.LOCK_TIMEOUT
            if any(r.response.error_code in LOCK_CODES for r in racing)
            else Outcome.ERROR
        )
        findings.append(
            (outcome, f"every racing request failed ({', '.join(codes)}): none made progress")
        )
    return findings


def _expected_failure(expect: Expect, code: str | None) -> bool:
    """A retryable conflict where the scenario allows one, or the fault it injected."""
    if expect is Expect.SUCCESS_OR_CONFLICT:
        return code in LOCK_CODES | CONFLICT_CODES
    return expect is Expect.FAULT and code == INJECTED_FAULT_CODE


def _user_positions(state: DatabaseState, key: str, content: object) -> list[int]:
    return [
        m.position for m in state.messages.get(key, ()) if m.role == "user" and m.content == content
    ]


def _persistence_findings(
    scenario: Scenario,
    results: Sequence[RequestResult],
    state: DatabaseState,
    keys: Mapping[str, str],
) -> list[tuple[Outcome, str]]:
    findings: list[tuple[Outcome, str]] = []
    acknowledged = [r for r in results if r.response.ok]
    failed = [r for r in results if not r.response.ok]
    seeded = {keys[seed.session]: seed for seed in scenario.seeds}
    explained_sessions = set(seeded) | {r.session_key for r in acknowledged}
    expected_count: Counter[str] = Counter(
        {key: len(seed.messages) for key, seed in seeded.items()}
    )
    for result in acknowledged:
        name, key = result.spec.name, result.session_key
        expected_count[key] += 2
        missing = []
        if key not in state.sessions:
            missing.append("its chat session")
        positions = _user_positions(state, key, result.spec.content)
        if not positions:
            missing.append("its user message")
        else:
            by_position = {m.position: m for m in state.messages.get(key, ())}
            reply = by_position.get(positions[0] + 1)
            if reply is None:
                findings.append((Outcome.ERROR, f"{name}: its reply is missing"))
            elif reply.role != "assistant":
                findings.append(
                    (
                        Outcome.SPLIT_EXCHANGE,
                        f"{name}: split exchange: another request's message was committed "
                        "between its user message and its reply",
                    )
                )
        if not state.agent_contexts.get(key):
            missing.append("the agent context of its chat session")
        if missing:
            late = result.response.late_failure
            findings.append(
                (
                    Outcome.LOST_WRITE,
                    f"{name}: acknowledged ({_describe(result.response)}) but "
                    f"{', '.join(missing)} not in the database"
                    + (
                        f"; {ACKNOWLEDGED_BEFORE_COMMIT}: after its response the app failed "
                        f"({late})"
                        if late
                        else ""
                    ),
                )
            )
        if result.read_back is not None:
            contents = [m.content for m in result.read_back.messages if m.role == "user"]
            if not result.read_back.ok or result.spec.content not in contents:
                held = AFTER_RESPONSE in result.spec.pause_at
                findings.append(
                    (
                        Outcome.LOST_WRITE,
                        f"{name}: read back at once ({_describe(result.read_back)}), "
                        "the acknowledged message was not there"
                        + (
                            f"; {ACKNOWLEDGED_BEFORE_COMMIT}: the read ran while the app was "
                            "held after its response"
                            if held
                            else ""
                        ),
                    )
                )
    for result in failed:
        name, key = result.spec.name, result.session_key
        leftovers = []
        if _user_positions(state, key, result.spec.content):
            leftovers.append("its user message")
        if key in state.sessions and key not in explained_sessions:
            leftovers.append("its chat session")
        if state.agent_contexts.get(key) and key not in explained_sessions:
            leftovers.append("an agent context")
        if leftovers:
            kind = (
                Outcome.ERROR if result.spec.expect is Expect.REJECTED else Outcome.PARTIAL_COMMIT
            )
            findings.append(
                (
                    kind,
                    f"{name}: failed ({_describe(result.response)}) yet "
                    f"{', '.join(leftovers)} committed",
                )
            )
    failed_keys = {r.session_key for r in failed}
    expected_replies: Counter[str] = Counter(
        {key: sum(m.role == "assistant" for m in seed.messages) for key, seed in seeded.items()}
    )
    expected_replies.update(r.session_key for r in acknowledged)
    for key, wanted in expected_replies.items():
        found = sum(m.role == "assistant" for m in state.messages.get(key, ()))
        if found < wanted:
            findings.append(
                (
                    Outcome.LOST_WRITE,
                    f"{wanted - found} acknowledged repl{'y' if wanted - found == 1 else 'ies'} "
                    "not in the database",
                )
            )
    for key, messages in state.messages.items():
        positions = sorted(m.position for m in messages)
        if positions != list(range(len(positions))):
            findings.append(
                (Outcome.ERROR, f"positions in a chat session are {positions}: not gapless")
            )
        surplus = len(messages) - expected_count[key]
        if surplus > 0:
            kind = Outcome.PARTIAL_COMMIT if key in failed_keys else Outcome.ERROR
            findings.append(
                (kind, f"{surplus} message(s) in a chat session that no acknowledged request wrote")
            )
    for count in state.agent_contexts.values():
        if count > 1:
            findings.append((Outcome.ERROR, f"{count} agent contexts for one chat session"))
    return findings


def _expected_state_findings(
    scenario: Scenario, state: DatabaseState, keys: Mapping[str, str]
) -> list[tuple[Outcome, str]]:
    expect = scenario.expect
    aliases = {key: alias for alias, key in keys.items()}

    def named(found: set[str]) -> list[str]:
        return sorted(aliases.get(key, "<unknown>") for key in found)

    findings: list[tuple[Outcome, str]] = []
    if expect.sessions is not None:
        found = named(set(state.sessions))
        if found != sorted(expect.sessions):
            findings.append(
                (Outcome.ERROR, f"expected chat sessions {sorted(expect.sessions)}, found {found}")
            )
    if expect.agent_contexts is not None:
        found = named({k for k, n in state.agent_contexts.items() if n})
        if found != sorted(expect.agent_contexts):
            findings.append(
                (
                    Outcome.ERROR,
                    f"expected agent contexts for {sorted(expect.agent_contexts)}, found {found}",
                )
            )
    for alias, patterns in (expect.messages or {}).items():
        stored = state.messages.get(keys.get(alias, ""), ())
        if len(stored) != len(patterns) or not all(
            p.matches(m.role, m.content) for p, m in zip(patterns, stored, strict=False)
        ):
            findings.append(
                (
                    Outcome.ERROR,
                    f"{alias}: expected messages {[str(p) for p in patterns]}, found "
                    f"{[_short(m.role, m.content) for m in stored]}",
                )
            )
    return findings


def _short(role: str, content: str) -> str:
    return str(MessagePattern(role, content if len(content) <= 40 else content[:37] + "..."))
