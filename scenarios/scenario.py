"""Scenario files: declarative TOML (data, never code) read with the standard library.

The format is documented in `scenarios/pack/README.md`; `FORMAT_VERSION` is the one version this
loader reads. Every mistake in a file is reported with the file and the key that is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from scenarios.adapter import AFTER_RESPONSE, ALL_POINTS, Capability

FORMAT_VERSION = 1
PACK_DIRECTORY = Path(__file__).parent / "pack"
SEED_PREFIX = "seed"


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file and the key."""


class Mode(StrEnum):
    SEQUENCE = "sequence"  # one request after another, in file order
    CONCURRENT = "concurrent"  # all requests in flight at once
    INTERLEAVE = "interleave"  # steps run in the order of each permutation


class Expect(StrEnum):
    SUCCESS = "success"  # acknowledged (2xx) and every row of it persisted
    REJECTED = "rejected"  # a 4xx naming `rejected_field`; nothing of it persisted
    FAULT = "fault"  # failed by the injected fault; nothing of it persisted
    SUCCESS_OR_CONFLICT = "success_or_conflict"  # either, or a clear retryable conflict


@dataclass(frozen=True)
class MessagePattern:
    """`"user: hi"` matches that exact message; a bare `"assistant"` matches any reply."""

    role: str
    content: str | None

    @classmethod
    def parse(cls, text: str) -> MessagePattern:
        role, separator, content = text.partition(": ")
        return cls(role.strip(), content if separator else None)

    def matches(self, role: str, content: str) -> bool:
        return self.role == role and (self.content is None or self.content == content)

    def __str__(self) -> str:
        return self.role if self.content is None else f"{self.role}: {self.content}"


@dataclass(frozen=True)
class SeedSpec:
    session: str
    messages: tuple[MessagePattern, ...]
    agent_context: bool


@dataclass(frozen=True)
class RequestSpec:
    name: str
    session: str
    content: Any
    raw_session: str | None
    body: bytes | None
    fault: str | None
    pause_at: tuple[str, ...]
    expect: Expect
    rejected_field: str | None
    read_back: bool

    @property
    def steps(self) -> tuple[str, ...]:
        return (*(f"{self.name}@{point}" for point in self.pause_at), self.name)


@dataclass(frozen=True)
class ExpectedState:
    sessions: frozenset[str] | None
    agent_contexts: frozenset[str] | None
    messages: Mapping[str, tuple[MessagePattern, ...]] | None


@dataclass(frozen=True)
class Interleaving:
    id: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    guards: str
    requires: frozenset[str]
    mode: Mode
    seeds: tuple[SeedSpec, ...]
    requests: tuple[RequestSpec, ...]
    permutations: tuple[tuple[str, ...], ...]
    expect: ExpectedState

    @property
    def asserts_persistence(self) -> bool:
        return any(r.expect is Expect.SUCCESS for r in self.requests)

    def request(self, name: str) -> RequestSpec:
        return next(r for r in self.requests if r.name == name)

    def interleavings(self) -> list[Interleaving]:
        if self.mode is Mode.SEQUENCE:
            return [Interleaving("sequence", tuple(r.name for r in self.requests))]
        if self.mode is Mode.CONCURRENT:
            return [Interleaving("concurrent", tuple(r.name for r in self.requests))]
        orders = self.permutations or tuple(_all_interleavings([r.steps for r in self.requests]))
        return [Interleaving(_interleaving_id(order), order) for order in orders]


def _interleaving_id(steps: Sequence[str]) -> str:
    return " ".join(steps)


def _all_interleavings(sequences: list[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """Every merge of the sequences that keeps each one's own order (isolation-tester style)."""
    total = sum(len(s) for s in sequences)
    if total == 0:
        yield ()
        return
    for index, sequence in enumerate(sequences):
        if sequence:
            rest = [*sequences[:index], sequence[1:], *sequences[index + 1 :]]
            for tail in _all_interleavings(rest):
                yield (sequence[0], *tail)


# -- loading -------------------------------------------------------------------------------

_TOP_KEYS = {"format", "guards", "requires", "mode", "seed", "request", "permutations", "expect"}
_REQUEST_KEYS = {
    "name",
    "session",
    "content",
    "repeat",
    "raw_session",
    "body",
    "body_hex",
    "fault",
    "pause_at",
    "expect",
    "rejected_field",
    "read_back",
}
_SEED_KEYS = {"session", "messages", "agent_context"}
_EXPECT_KEYS = {"sessions", "agent_contexts", "messages"}


class _Reader:
    """Typed access to one TOML table, with errors that name the file and the key."""

    def __init__(self, path: Path, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        self.path = path
        self.where = where
        self.table = table
        unknown = sorted(set(table) - allowed)
        if unknown:
            self.fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")

    def fail(self, message: str) -> ScenarioError:
        raise ScenarioError(f"{self.path}: {self.where}{message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                self.fail(f"missing required key {key!r}")
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(f"{key!r} must be {names}, got {type(value).__name__}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) for v in values):
            self.fail(f"{key!r} must be a list of strings")
        return tuple(values)


def load_scenario(path: Path) -> Scenario:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read it: {error.strerror or error}") from None
    top = _Reader(path, "", data, _TOP_KEYS)
    version = top.get("format", int)
    if version != FORMAT_VERSION:
        top.fail(f"format {version} is not supported; this loader reads format {FORMAT_VERSION}")
    guards = top.get("guards", str).strip()
    if not guards:
        top.fail("'guards' must say in one sentence what bug the scenario guards against")
    requires = frozenset(top.strings("requires"))
    if unknown := requires - Capability.KNOWN:
        top.fail(f"unknown capability {sorted(unknown)}; known: {sorted(Capability.KNOWN)}")
    try:
        mode = Mode(top.get("mode", str, Mode.SEQUENCE.value))
    except ValueError:
        top.fail(f"'mode' must be one of {[m.value for m in Mode]}")
    seeds = tuple(_load_seed(path, i, t) for i, t in enumerate(top.get("seed", list, [])))
    requests = tuple(_load_request(path, i, t) for i, t in enumerate(top.get("request", list, [])))
    if not requests:
        top.fail("a scenario needs at least one [[request]]")
    names = [r.name for r in requests]
    if len(set(names)) != len(names):
        top.fail(f"request names must be unique, got {names}")
    contents = [r.content for r in requests if r.expect is not Expect.REJECTED]
    if len({repr(c) for c in contents}) != len(contents):
        top.fail("requests that may be stored need distinct content, so each row is traceable")
    permutations = _load_permutations(top, requests)
    if mode is not Mode.INTERLEAVE and (permutations or any(r.pause_at for r in requests)):
        top.fail("'permutations' and 'pause_at' need mode = \"interleave\"")
    expect_table = top.get("expect", dict, {})
    return Scenario(
        name=path.stem,
        path=path,
        guards=guards,
        requires=requires | _implied_requirements(mode, seeds, requests),
        mode=mode,
        seeds=seeds,
        requests=requests,
        permutations=permutations,
        expect=_load_expect(path, expect_table),
    )


def _implied_requirements(
    mode: Mode, seeds: Sequence[SeedSpec], requests: Sequence[RequestSpec]
) -> frozenset[str]:
    implied = set()
    if seeds:
        implied.add(Capability.SEED)
    if any(r.fault for r in requests):
        implied.add(Capability.FAULT_INJECTION)
    if any(r.fault == AFTER_RESPONSE or AFTER_RESPONSE in r.pause_at for r in requests):
        implied.add(Capability.AFTER_RESPONSE)
    if any(r.read_back for r in requests):
        implied.add(Capability.READ_ROUTE)
    if any(r.expect is Expect.REJECTED for r in requests):
        implied.add(Capability.REJECTS_BAD_INPUT)
    if mode is Mode.INTERLEAVE:
        implied |= {Capability.PAUSE_POINTS, Capability.CONCURRENCY}
    if mode is Mode.CONCURRENT:
        implied.add(Capability.CONCURRENCY)
    return frozenset(implied)


def _load_seed(path: Path, index: int, table: Any) -> SeedSpec:
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: seed[{index}] must be a table")
    reader = _Reader(path, f"seed[{index}]: ", table, _SEED_KEYS)
    return SeedSpec(
        session=reader.get("session", str),
        messages=tuple(MessagePattern.parse(m) for m in reader.strings("messages")),
        agent_context=reader.get("agent_context", bool, True),
    )


def _load_request(path: Path, index: int, table: Any) -> RequestSpec:
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: request[{index}] must be a table")
    reader = _Reader(path, f"request[{index}]: ", table, _REQUEST_KEYS)
    name = reader.get("name", str, f"r{index + 1}")
    if not name.isidentifier():
        reader.fail(f"'name' must be a simple identifier, got {name!r}")
    content = table.get("content", "")
    repeat = reader.get("repeat", int, 1)
    if repeat < 1:
        reader.fail("'repeat' must be at least 1")
    if repeat > 1:
        if not isinstance(content, str):
            reader.fail("'repeat' needs a string 'content'")
        content = content * repeat
    body: bytes | None = None
    if "body" in table and "body_hex" in table:
        reader.fail("give 'body' or 'body_hex', not both")
    if "body" in table:
        body = reader.get("body", str).encode("utf-8")
    if "body_hex" in table:
        try:
            body = bytes.fromhex(reader.get("body_hex", str))
        except ValueError:
            reader.fail("'body_hex' must be hexadecimal digits")
    fault = reader.get("fault", str, None)
    if fault is not None and fault not in ALL_POINTS:
        reader.fail(f"'fault' must be one of {list(ALL_POINTS)}, got {fault!r}")
    pause_at = reader.strings("pause_at")
    for point in pause_at:
        if point not in ALL_POINTS:
            reader.fail(f"'pause_at' entries must be among {list(ALL_POINTS)}, got {point!r}")
    if list(pause_at) != sorted(pause_at, key=ALL_POINTS.index) or len(set(pause_at)) != len(
        pause_at
    ):
        reader.fail("'pause_at' must list distinct points in the order a request passes them")
    # A fault after the response cannot fail the request: the client already has its answer.
    failing_fault = fault is not None and fault != AFTER_RESPONSE
    try:
        default = Expect.FAULT if failing_fault else Expect.SUCCESS
        expect = Expect(reader.get("expect", str, default))
    except ValueError:
        reader.fail(f"'expect' must be one of {[e.value for e in Expect]}")
    rejected_field = reader.get("rejected_field", str, None)
    if (expect is Expect.REJECTED) != (rejected_field is not None):
        reader.fail("'rejected_field' is required with expect = \"rejected\", and only then")
    if (expect is Expect.FAULT) != failing_fault:
        reader.fail(
            "expect = \"fault\" needs a 'fault' point before the response, and such a fault "
            'expects "fault" (a fault at after_response expects "success")'
        )
    return RequestSpec(
        name=name,
        session=reader.get("session", str),
        content=content,
        raw_session=reader.get("raw_session", str, None),
        body=body,
        fault=fault,
        pause_at=pause_at,
        expect=expect,
        rejected_field=rejected_field,
        read_back=reader.get("read_back", bool, False),
    )


def _load_permutations(
    top: _Reader, requests: Sequence[RequestSpec]
) -> tuple[tuple[str, ...], ...]:
    raw = top.get("permutations", list, [])
    known = {step: r for r in requests for step in r.steps}
    permutations = []
    for order in raw:
        if not isinstance(order, list) or not all(isinstance(s, str) for s in order):
            top.fail("'permutations' must be a list of lists of step names")
        if sorted(order) != sorted(known):
            top.fail(f"permutation {order} must name each step once: {sorted(known)}")
        for request in requests:
            own = [s for s in order if known[s] is request]
            if own != list(request.steps):
                top.fail(f"permutation {order} runs {request.name}'s steps out of order")
        permutations.append(tuple(order))
    return tuple(permutations)


def _load_expect(path: Path, table: Any) -> ExpectedState:
    reader = _Reader(path, "expect: ", table, _EXPECT_KEYS)
    sessions = frozenset(reader.strings("sessions")) if "sessions" in table else None
    contexts = frozenset(reader.strings("agent_contexts")) if "agent_contexts" in table else None
    messages: dict[str, tuple[MessagePattern, ...]] | None = None
    if "messages" in table:
        raw = reader.get("messages", dict)
        messages = {}
        for session, patterns in raw.items():
            if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                reader.fail(f"messages.{session} must be a list of strings")
            messages[session] = tuple(MessagePattern.parse(p) for p in patterns)
    return ExpectedState(sessions=sessions, agent_contexts=contexts, messages=messages)


def load_pack(paths: Sequence[Path] = ()) -> list[Scenario]:
    """Every `*.toml` under the given folders or files (the built-in pack when none)."""
    files: list[Path] = []
    for path in paths or [PACK_DIRECTORY]:
        files.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
    if not files:
        raise ScenarioError(f"no scenario files (*.toml) found in {[str(p) for p in paths]}")
    scenarios = [load_scenario(file) for file in files]
    seen: dict[str, Path] = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise ScenarioError(
                f"two scenarios are named {scenario.name!r}: {seen[scenario.name]} and "
                f"{scenario.path}"
            )
        seen[scenario.name] = scenario.path
    return scenarios


__all__ = [
    "Expect",
    "Interleaving",
    "Mode",
    "RequestSpec",
    "Scenario",
    "ScenarioError",
    "load_pack",
    "load_scenario",
]
