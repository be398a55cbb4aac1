"""A team that already tests its API with Schemathesis in pytest: each `case.call()` on
`from_asgi` (and `from_wsgi`, through Werkzeug's client) is a unit of `pytest --session-guard`,
with no change to the test, run in a pytest of its own (pytester)."""

from __future__ import annotations

import pytest

pytest.importorskip("schemathesis")

SUITE = """
import tempfile

import schemathesis
from hypothesis import settings
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=20, pattern="^[a-z]+$")


engine = create_engine(f"sqlite:///{tempfile.mkdtemp()}/items.sqlite3")
Base.metadata.create_all(engine)
maker = sessionmaker(engine)
app = FastAPI()


@app.post("/items", status_code=201)
def create(body: ItemIn) -> dict:
    with maker() as db:
        if BUGGY:
            own = maker()  # the repository's own session: flushed, closed, never committed
            own.add(Item(name=body.name))
            own.flush()
            own.close()
        else:
            db.add(Item(name=body.name))
        db.add(Item(name="audit"))
        db.commit()
    return {"name": body.name}


schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=5, deadline=None)
def test_api(case):
    case.call()
"""


@pytest.fixture(params=[False, True], ids=["clean", "buggy"])
def buggy(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> bool:
    pytester.makepyfile(test_api=f"BUGGY = {request.param}\n" + SUITE)
    return bool(request.param)


def test_strict_mode_fails_the_schemathesis_test_of_the_buggy_app_only(
    pytester: pytest.Pytester, buggy: bool
) -> None:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--session-guard=strict", "-W", "ignore::DeprecationWarning"
    )
    if buggy:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["*session guard (strict)*", "*extra_session*test_api.py:*", "*acknowledged_not_saved*"]
        )
    else:
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*requests watched; 0 tests with findings*"])


def test_without_the_flag_the_schemathesis_test_is_not_watched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_api="BUGGY = True\n" + SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore")
    result.assert_outcomes(passed=1)
    assert "session guard" not in result.stdout.str()
