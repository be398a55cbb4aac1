"""SCN001 across calls: reported once at the line that opens the second session, with every
calling line that holds a session beside it; a callee that only reads, or is handed the
caller's session, is not reported."""

from __future__ import annotations

import textwrap
from pathlib import Path

from scenarios.lint import LintConfig, check

STORE = """
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def audit(event: str) -> None:
    with SessionLocal() as session:
        session.add(object())
        session.commit()


def lookup(key: str) -> object:
    with SessionLocal() as session:
        return session.get(object, key)


def audit_in(event: str, session: Session) -> None:
    session.add(object())
"""

SERVICE = """
from sqlalchemy.orm import Session

from app.store import audit, audit_in, lookup


def rename(db: Session) -> None:
    db.add(object())
    audit("rename")
    lookup("x")
    audit_in("rename", db)


def delete(db: Session) -> None:
    audit("delete")


def nightly() -> None:
    audit("nightly")
"""


def test_one_finding_at_the_opening_naming_each_caller_in_hand(tmp_path: Path) -> None:
    for name, source in {"__init__.py": "", "store.py": STORE, "service.py": SERVICE}.items():
        (tmp_path / "app").mkdir(exist_ok=True)
        (tmp_path / "app" / name).write_text(textwrap.dedent(source).lstrip())
    report = check([tmp_path / "app"], LintConfig(base=tmp_path))
    assert [(f.path.name, f.line, f.code) for f in report.findings] == [("store.py", 7, "SCN001")]
    reason = report.findings[0].reason
    assert "audit() opens a session of its own" in reason
    assert "app/service.py:8" in reason  # rename(), the first caller
    assert "and from 1 more call(s)" in reason  # delete(); nightly() holds none
