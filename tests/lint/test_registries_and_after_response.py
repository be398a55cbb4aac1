"""The task-keyed registry (`SCN001`) and the commit after the response (`SCN004`) at their
edges, on small apps written here; the shapes themselves are corpus pairs 27 and 30. Each app
marks the lines that must be reported with `# finding`; every other line must not be."""

from __future__ import annotations

from pathlib import Path

from scenarios.lint import LintConfig, check
from tests.lint.test_lint import expected_findings, found, write_app

REGISTRIES = """
import asyncio
from asyncio import current_task

from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session, async_sessionmaker
from sqlalchemy.orm import scoped_session, sessionmaker

maker = async_sessionmaker(expire_on_commit=False)
by_task: async_scoped_session[AsyncSession] = async_scoped_session(
    maker, scopefunc=current_task
)
by_task_positional = async_scoped_session(maker, asyncio.current_task)
by_task_lambda = async_scoped_session(maker, scopefunc=lambda: id(asyncio.current_task()))
by_thread = scoped_session(sessionmaker())
"""


def test_a_task_registry_is_followed_however_its_scope_is_written_and_a_thread_one_is_not(
    tmp_path: Path,
) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": REGISTRIES,
            "service.py": """
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.db import by_task, by_task_lambda, by_task_positional, by_thread


                async def annotated(db: AsyncSession) -> None:
                    by_task()  # finding
                    by_task().add(object())  # one finding a function and registry


                async def positional(db: AsyncSession) -> None:
                    await by_task_positional.execute("select 1")  # finding


                async def in_a_lambda(db: AsyncSession) -> None:
                    by_task_lambda.add(object())  # finding


                async def thread_keyed(db: AsyncSession) -> None:
                    by_thread.add(object())


                async def nothing_else_in_hand() -> None:
                    by_task.add(object())
                    await by_task.commit()


                async def cleanup(db: AsyncSession) -> None:
                    await by_task.remove()
                """,
        },
    )
    assert found(app) == expected_findings(app)


def test_a_task_registry_whose_session_a_helper_returns_is_the_request_session(
    tmp_path: Path,
) -> None:
    app = write_app(
        tmp_path,
        {
            "db.py": REGISTRIES,
            "deps.py": """
                from app.db import by_task


                def current_session():
                    return by_task()
                """,
            "service.py": """
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.db import by_task


                async def audit(db: AsyncSession) -> None:
                    by_task.add(object())
                """,
        },
    )
    assert found(app) == set()


GET_DB = """
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    maker = async_sessionmaker()


    async def get_db() -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            yield session
            await session.commit(){mark}
    """


def test_a_commit_after_yield_is_a_finding_only_where_fastapi_runs_it_after_the_response(
    tmp_path: Path,
) -> None:
    cases = {
        # used in Depends(): a request dependency wherever it lives
        "depends": ("from fastapi import Depends", "Depends(get_db)", True),
        "security": ("from fastapi import Security", "Security(get_db)", True),
        # every use scoped to the function (FastAPI >= 0.121): before the response
        "function_scope": (
            "from fastapi import Depends",
            'Depends(get_db, scope="function")',
            False,
        ),
        "request_scope": ("from fastapi import Depends", 'Depends(get_db, scope="request")', True),
        # Litestar's and dependency-injector's Provide: not FastAPI's exit-code order
        "provide": ("from litestar.di import Provide", "Provide(get_db)", False),
        # wrapped into a context manager: its block ends inside the caller
        "wrapped": (
            "from contextlib import asynccontextmanager",
            "asynccontextmanager(get_db)",
            False,
        ),
    }
    for name, (imports, use, reported) in cases.items():
        root = tmp_path / name
        app = write_app(
            root,
            {
                "db.py": GET_DB.format(mark="  # finding" if reported else ""),
                "routes.py": f"""
                    {imports}

                    from app.db import get_db

                    used = {use}
                    """,
            },
        )
        report = check([app], LintConfig(base=root))
        assert {f"{f.path}:{f.line}" for f in report.findings} == expected_findings(app), name
        assert {f.code for f in report.findings} <= {"SCN004"}, name


def test_a_generator_out_of_sight_of_depends_counts_only_in_a_module_that_imports_fastapi(
    tmp_path: Path,
) -> None:
    app = write_app(
        tmp_path,
        {
            "api.py": """
                from collections.abc import Iterator

                from fastapi import Request
                from sqlalchemy.orm import Session


                def get_db(request: Request) -> Iterator[Session]:
                    with request.app.state.maker() as db:
                        yield db
                        db.commit()  # finding
                """,
            "batch.py": """
                from collections.abc import Iterator

                from sqlalchemy.orm import Session, sessionmaker

                maker = sessionmaker()


                def sessions(count: int) -> Iterator[Session]:
                    for _ in range(count):
                        with maker() as db:
                            yield db
                            db.commit()
                """,
        },
    )
    assert found(app) == expected_findings(app)
