"""Which findings fail a test under `--session-guard=strict`, and which a team has read and
accepted: strictness by rule, and acknowledgements (by rule, `file:line` or route) that each
carry a reason, from the pytest ini or from the static check's inline marker
(`# scenarios: allow-session -- reason`) on the line that opened the session. Entries that
acknowledge nothing in a run are reported, so they do not outlive the code they were for.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.guard.findings import GuardFinding, Kind

# The rules that mean lost or partial data: a write acknowledged and not kept, rows thrown
# away, two sessions where one did not commit, a commit after the answer, one request split
# over two transactions. The rest (extra_connection, leaked_connection) cost connections.
DATA_RULES = frozenset(
    {
        Kind.ACKNOWLEDGED_NOT_SAVED,
        Kind.LOST_WRITE,
        Kind.EXTRA_SESSION,
        Kind.RESPONSE_BEFORE_COMMIT,
        Kind.SPLIT_COMMIT,
    }
)
_ROUTE = re.compile(r"^[A-Z]+\s+/")
_SITE = re.compile(r"^(?P<path>.+):(?P<line>\d+)$")


class PolicyError(ValueError):
    """A rule list or allowlist entry that cannot be read; the message says which and why."""


def parse_rules(text: str, *, origin: str) -> frozenset[Kind]:
    """`all`, `data` (the default set), or rule names separated by commas or spaces."""
    names = [n for n in re.split(r"[,\s]+", text.strip()) if n]
    if not names or names == ["data"]:
        return DATA_RULES
    if names == ["all"]:
        return frozenset(Kind) - {Kind.READ_ONLY_SESSION}
    unknown = [n for n in names if n not in Kind._value2member_map_]
    if unknown:
        known = ", ".join(k.value for k in Kind)
        raise PolicyError(f"{origin}: unknown rule {unknown[0]!r}; known rules: {known}")
    return frozenset(Kind(n) for n in names)


@dataclass(frozen=True)
class Allowance:
    """One acknowledged case: a rule, a site (`path:line`), a route, or a rule at one of
    them, with the reason a person gave; `origin` says where it was written."""

    reason: str
    origin: str
    rule: Kind | None = None
    site: tuple[str, int] | None = None
    route: str | None = None

    def matches(self, finding: GuardFinding) -> bool:
        if self.rule is not None and finding.kind is not self.rule:
            return False
        if self.route is not None and finding.route != self.route:
            return False
        if self.site is not None:
            return _same_site(finding.site, self.site)
        return True

    def describe(self) -> str:
        what = " ".join(
            part
            for part in (
                self.rule.value if self.rule else None,
                f"{self.site[0]}:{self.site[1]}" if self.site else None,
                self.route,
            )
            if part
        )
        return f"{what} -- {self.reason}"


def _same_site(site: str | None, wanted: tuple[str, int]) -> bool:
    if site is None:
        return False
    match = _SITE.match(site)
    if match is None or int(match["line"]) != wanted[1]:
        return False
    path, want = match["path"].replace("\\", "/"), wanted[0].replace("\\", "/").lstrip("./")
    return path == want or path.endswith("/" + want)


def parse_allowance(text: str, *, origin: str) -> Allowance:
    """`[RULE] [path:line | METHOD /route] -- reason`; the reason is required."""
    target, sep, reason = text.partition(" -- ")
    if not sep or not reason.strip():
        raise PolicyError(
            f"{origin}: allowlist entry {text.strip()!r} has no reason; write "
            "`RULE, path:line or METHOD /route -- why this is acceptable`"
        )
    target = target.strip()
    rule: Kind | None = None
    first, _, rest = target.partition(" ")
    if first in Kind._value2member_map_:
        rule, target = Kind(first), rest.strip()
    site: tuple[str, int] | None = None
    route: str | None = None
    if target:
        site_match = _SITE.match(target)
        if _ROUTE.match(target):
            route = " ".join(target.split())
        elif site_match is not None and " " not in target:
            site = (site_match["path"], int(site_match["line"]))
        else:
            raise PolicyError(
                f"{origin}: allowlist entry {text.strip()!r}: {target!r} is neither a rule, "
                "a path:line nor a route like `POST /items/{id}`"
            )
    if rule is None and site is None and route is None:
        raise PolicyError(f"{origin}: allowlist entry {text.strip()!r} names nothing to allow")
    return Allowance(reason.strip(), origin, rule=rule, site=site, route=route)


@dataclass
class Policy:
    """Decides for each finding: acknowledged (by which entry), failing, or only reported."""

    strict: frozenset[Kind] = DATA_RULES
    allowances: tuple[Allowance, ...] = ()
    read_markers: bool = True
    _used: set[Allowance] = field(default_factory=set)
    _markers: dict[Path, list[Allowance]] = field(default_factory=dict)

    def allowed_by(self, finding: GuardFinding) -> Allowance | None:
        for allowance in (*self.allowances, *self._markers_for(finding)):
            if allowance.matches(finding):
                self._used.add(allowance)
                return allowance
        return None

    def fails(self, finding: GuardFinding) -> bool:
        return not finding.note and finding.kind in self.strict

    def unused(self) -> list[Allowance]:
        """Ini entries, and markers in the files findings named, that acknowledged nothing."""
        markers = [m for found in self._markers.values() for m in found]
        return [a for a in (*self.allowances, *markers) if a not in self._used]

    def _markers_for(self, finding: GuardFinding) -> Iterable[Allowance]:
        if not self.read_markers or finding.site is None:
            return ()
        match = _SITE.match(finding.site)
        if match is None:
            return ()
        path = Path(match["path"])
        if path not in self._markers:
            self._markers[path] = _markers_in(path)
        line = int(match["line"])
        return [m for m in self._markers[path] if m.site is not None and m.site[1] == line]


def _markers_in(path: Path) -> list[Allowance]:
    """The file's allow-session markers, each as an allowance of the line that opens the
    session: the marker's own line, or the first line of the call it sits in."""
    from scenarios.lint.markers import markers_in

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    markers, _ = markers_in(path, lines)
    if not markers:
        return []
    starts = _call_starts(lines)
    return [
        Allowance(
            m.reason,
            f"{path.as_posix()}:{m.line}",
            site=(path.as_posix(), starts.get(m.line, m.line)),
        )
        for m in markers
    ]


def _call_starts(lines: list[str]) -> dict[int, int]:
    """For each line inside a call that spans several lines, the line the call starts on
    (the line a frame reports while the call runs)."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return {}
    starts: dict[int, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.end_lineno and node.end_lineno > node.lineno:
            for line in range(node.lineno + 1, node.end_lineno + 1):
                starts.setdefault(line, node.lineno)
    return starts
